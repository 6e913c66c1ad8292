"""The OpenID Foundation's Basic RP cases (and more), against every entry point that accepts an id_token.

The dev tenant misbehaves on purpose (`tenant.faults`); each refused case must end on a 4xx error
page, with no session stored and neither the id_token, the code nor the password in the logs.
"""

from __future__ import annotations

import time

from shared.dev_tenant import DEV_CLIENT_ID
from tests.security.conftest import (
    EntryPoint,
    assert_refused,
    capture_logs,
    serve_app,
    serve_app_warmed_up,
)

LEEWAY = 60  # Settings.leeway: the clock skew the verifier tolerates
OTHER_CLIENT = "another-application"


def refuse(entry: EntryPoint, http, app, tenant, issued, logs, **faults) -> None:
    tenant.tenant.faults.update(**faults)
    page = entry.log_in(http, app)
    assert issued.id_tokens, "the tenant issued no id_token: the login never reached the verifier"
    if entry.redirect_flow:
        assert all(issued.exchanges) and len(issued.exchanges) == 2, "expected one code exchange with PKCE"
    assert_refused(entry, http, app, page, logs=logs, secrets=issued.secrets)


# ---- must be refused -------------------------------------------------------------------------


def test_wrong_issuer_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_claims={"iss": "https://attacker.example/"})


def test_issuer_without_trailing_slash_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_claims={"iss": tenant.issuer.rstrip("/")})


def test_missing_aud_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_remove=["aud"])


def test_aud_of_another_client_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_claims={"aud": OTHER_CLIENT})


def test_aud_list_with_ours_but_no_azp_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_claims={"aud": [DEV_CLIENT_ID, OTHER_CLIENT]})


def test_aud_list_with_ours_and_azp_of_another_client_is_refused(entry, app, http, tenant, issued, logs):
    claims = {"aud": [DEV_CLIENT_ID, OTHER_CLIENT], "azp": OTHER_CLIENT}
    refuse(entry, http, app, tenant, issued, logs, id_token_claims=claims)


def test_missing_sub_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_remove=["sub"])


def test_missing_iat_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_remove=["iat"])


def test_missing_exp_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, id_token_remove=["exp"])


def test_expired_token_is_refused(entry, app, http, tenant, issued, logs):
    now = int(time.time())
    claims = {"iat": now - 7200, "exp": now - LEEWAY - 60}
    refuse(entry, http, app, tenant, issued, logs, id_token_claims=claims)


def test_nbf_in_the_future_beyond_the_leeway_is_refused(entry, app, http, tenant, issued, logs):
    claims = {"nbf": int(time.time()) + LEEWAY + 600}
    refuse(entry, http, app, tenant, issued, logs, id_token_claims=claims)


def test_iat_in_the_future_beyond_the_leeway_is_refused(entry, app, http, tenant, issued, logs):
    now = int(time.time())
    claims = {"iat": now + LEEWAY + 600, "exp": now + 36000}
    refuse(entry, http, app, tenant, issued, logs, id_token_claims=claims)


def test_bad_rs256_signature_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, signing="bad_signature")


def test_token_signed_with_an_unpublished_key_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, signing="foreign_key")


def test_alg_none_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, signing="none")


def test_hs256_signed_with_the_client_secret_is_refused(entry, app, http, tenant, issued, logs):
    refuse(entry, http, app, tenant, issued, logs, signing="hs256_client_secret")


def test_wrong_nonce_is_refused(redirect_entry, apps, http, tenant, issued):
    app = apps[redirect_entry.step]
    with capture_logs() as logs:
        refuse(redirect_entry, http, app, tenant, issued, logs, id_token_claims={"nonce": "attacker-chosen-nonce"})


def test_missing_nonce_is_refused(redirect_entry, apps, http, tenant, issued):
    app = apps[redirect_entry.step]
    with capture_logs() as logs:
        refuse(redirect_entry, http, app, tenant, issued, logs, id_token_remove=["nonce"])


def test_several_keys_and_no_kid_is_refused(entry, http, tenant, issued):
    """The JWKS lists several keys without `kid` and the token names none: the app must not guess."""
    tenant.tenant.faults.update(jwks="multi_no_kid")  # before the app starts: it loads the JWKS once
    with serve_app(entry.step, tenant) as app, capture_logs() as logs:
        refuse(entry, http, app, tenant, issued, logs, signing="no_kid")


# ---- must be accepted ------------------------------------------------------------------------


def accepted(entry: EntryPoint, http, app) -> None:
    page = entry.log_in(http, app)
    assert page.status_code == 200, page.text
    assert str(page.url) == f"{app}/"
    assert 'id="btn-logout"' in page.text, page.text
    assert entry.stored_id_token(http)


def test_valid_rs256_token_is_accepted(entry, app, http):
    accepted(entry, http, app)


def test_iat_within_the_leeway_is_accepted(entry, app, http, tenant):
    """A tenant clock a few seconds ahead of the app's (OIDC Core 3.1.3.7 allows for skew)."""
    tenant.tenant.faults.update(id_token_claims={"iat": int(time.time()) + 20})
    accepted(entry, http, app)


def test_single_key_jwks_without_kid_is_accepted(entry, http, tenant):
    """OpenID RP test rp-id_token-kid-absent-single-jwks: one key, no kid anywhere, is unambiguous."""
    tenant.tenant.faults.update(jwks="no_kid", signing="no_kid")
    with serve_app(entry.step, tenant) as app:
        accepted(entry, http, app)


def test_token_signed_with_a_rotated_in_key_is_accepted_after_one_jwks_fetch(entry, http, own_tenant):
    """The tenant rotates its key while the app runs: one JWKS re-fetch, no restart, then no more fetches."""
    with serve_app_warmed_up(entry.step, own_tenant) as app:
        assert own_tenant.counter.jwks_fetches == 1  # at start-up
        accepted(entry, http, app)
        own_tenant.tenant.rotate_key()
        http.cookies.clear()
        accepted(entry, http, app)
        assert own_tenant.counter.jwks_fetches == 2
        http.cookies.clear()
        accepted(entry, http, app)
        assert http.get(f"{app}/").status_code == 200
        assert own_tenant.counter.jwks_fetches == 2


# ---- /userinfo -----------------------------------------------------------------------------


def test_userinfo_sub_mismatch_cannot_matter_because_no_step_calls_userinfo(entry, http, counting_tenant):
    """With the profile in the id_token (Auth0), no step calls /userinfo, so its `sub` cannot matter.

    Steps call /userinfo only when the verified id_token has no name/nickname/email (another
    provider), and then refuse a different `sub`: tests/steps/test_generic_tenant.py
    (OpenID RP test rp-userinfo-bad-sub-claim). Here, with Auth0-shaped tokens, /userinfo is never requested.
    """
    counting_tenant.tenant.faults.update(userinfo_claims={"sub": "auth0|someone-else"})
    try:
        with serve_app(entry.step, counting_tenant) as app:
            before = counting_tenant.counter.hits["/userinfo"]
            accepted(entry, http, app)
            assert "someone-else" not in http.get(f"{app}/").text
            assert counting_tenant.counter.hits["/userinfo"] == before
    finally:
        counting_tenant.tenant.faults.reset()
