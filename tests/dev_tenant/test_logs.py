"""Monitoring → Logs: every login, failure, sign-up, exchange, logout, back-channel delivery and refusal,
with Auth0's event codes, as Auth0's log event JSON — and never a secret."""

from __future__ import annotations

import json
import re
import time

import pytest
from starlette.testclient import TestClient

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant
from shared.dev_tenant import logs as logs_module
from shared.dev_tenant.logs import LOGS_FILE

from .conftest import ISSUER, authorize_params, exchange, form_fields, login, pkce_pair, start_login, submit_login

AUTH0_FIELDS = {
    "log_id",
    "date",
    "type",
    "description",
    "client_id",
    "client_name",
    "ip",
    "user_agent",
    "hostname",
    "user_id",
    "user_name",
    "connection",
    "strategy",
    "strategy_type",
    "details",
}


def types(tenant: DevTenant) -> list[str]:
    """Event codes, oldest first."""
    return [event["type"] for event in reversed(tenant.logs.events(limit=1000))]


def test_a_login_its_exchange_and_the_logout_are_s_seacft_slo(client, tenant, secret):
    tenant.settings.update(backchannel_logout_urls=())  # no app listens on localhost:3000 here
    callback, _ = login(client)
    assert exchange(client, callback["code"], secret).status_code == 200
    client.get("/v2/logout", params={"returnTo": "http://localhost:3000", "client_id": DEV_CLIENT_ID})
    # The app's back-channel URI was removed above: the logout says it could not tell the app.
    assert types(tenant) == ["s", "seacft", "slo", "oidc_backchannel_logout_failed"]
    for event in tenant.logs.events()[1:]:
        assert set(event) == AUTH0_FIELDS
        assert event["client_id"] == DEV_CLIENT_ID and event["client_name"] == "Tutorial App (dev client)"
        assert event["user_name"] == DEMO_EMAIL and event["user_id"].startswith("auth0|")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["date"])
    login_event = tenant.logs.events("s")[0]
    assert login_event["connection"] == "Username-Password-Authentication"
    assert (login_event["strategy"], login_event["strategy_type"]) == ("auth0", "database")
    assert login_event["ip"] == "testclient" and login_event["hostname"] == "testserver"


def test_wrong_password_unknown_user_and_blocked_account_are_fp_fu_limit_wc(client, tenant):
    page, _ = start_login(client)
    submit_login(client, page, password="wrong-password")
    submit_login(client, page, email="nobody@example.com")
    tenant.create_user("locked@example.com", "Right-Passw0rd")
    for _ in range(10):
        submit_login(client, page, email="locked@example.com", password="wrong")
    submit_login(client, page, email="locked@example.com", password="Right-Passw0rd")
    seen = types(tenant)
    assert seen[:2] == ["fp", "fu"] and seen[-1] == "limit_wc"
    assert set(seen[2:-1]) <= {"fp", "limit_wc"} and seen[2:-1].count("fp") >= 9  # the lock-out's own count
    wrong = tenant.logs.events("fp", DEMO_EMAIL)[0]
    assert wrong["description"] == "Wrong email or password." and wrong["user_name"] == DEMO_EMAIL
    assert tenant.logs.events("fu")[0]["user_name"] == "nobody@example.com"
    assert "blocked" in tenant.logs.events("limit_wc")[0]["description"]


def test_the_password_grant_logs_sepft_fp_fu_and_fepft(client, tenant, secret):
    body = {"grant_type": "password", "client_id": DEV_CLIENT_ID, "client_secret": secret}
    client.post("/oauth/token", data={**body, "username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    client.post("/oauth/token", data={**body, "username": DEMO_EMAIL, "password": "nope"})
    client.post("/oauth/token", data={**body, "username": "ghost@example.com", "password": "nope"})
    client.post("/oauth/token", data={**body, "client_secret": "wrong", "username": DEMO_EMAIL, "password": "x"})
    assert types(tenant) == ["sepft", "fp", "fu", "fepft"]
    assert tenant.logs.events("sepft")[0]["user_id"].startswith("auth0|")
    assert tenant.logs.events("fepft")[0]["description"] == "Unauthorized"


def test_a_failed_code_exchange_says_why(client, tenant, secret):
    _, challenge = pkce_pair()
    callback, _ = login(client, code_challenge=challenge, code_challenge_method="S256")
    exchange(client, callback["code"], secret, code_verifier="x" * 43)
    exchange(client, "not-a-code", secret)
    first, second = reversed(tenant.logs.events("feacft"))
    assert first["description"] == "Failed to verify code verifier" and first["user_name"] == DEMO_EMAIL
    assert second["description"] == "Invalid authorization code"


def test_sign_ups_are_ss_then_s_and_refused_ones_fs(client, tenant):
    login_page, _ = start_login(client)
    fields = form_fields(client.get("/u/signup", params={"state": form_fields(login_page.text)["state"]}).text)
    client.post("/u/signup", data={**fields, "email": "weak@example.com", "password": "weak"})
    client.post("/u/signup", data={**fields, "email": DEMO_EMAIL, "password": "Str0ng-Passw0rd"})
    client.post("/u/signup", data={**fields, "email": "new@example.com", "password": "Str0ng-Passw0rd"})
    client.post(
        "/dbconnections/signup",
        json={
            "client_id": DEV_CLIENT_ID,
            "connection": "Username-Password-Authentication",
            "email": "api@example.com",
            "password": "Str0ng-Passw0rd",
        },
    )
    assert types(tenant) == ["fs", "fs", "ss", "s", "ss"]
    assert [e["description"] for e in reversed(tenant.logs.events("fs"))] == [
        "Password is too weak",
        "The user already exists.",
    ]
    assert tenant.logs.events("ss")[0]["user_name"] == "api@example.com"


def test_silent_auth_is_ssa_or_fsa_and_an_sso_login_is_s(client, tenant):
    client.get("/authorize", params=authorize_params(prompt="none"))
    login(client)
    client.get("/authorize", params=authorize_params(prompt="none"))
    client.get("/authorize", params=authorize_params())
    assert types(tenant) == ["fsa", "s", "ssa", "s"]
    assert tenant.logs.events("fsa")[0]["description"] == "Login required"


def test_refused_requests_are_logged_with_auth0s_description(client, tenant):
    client.get("/authorize", params=authorize_params(redirect_uri="http://localhost:3005/callback"))
    client.get("/v2/logout", params={"returnTo": "https://evil.example/", "client_id": DEV_CLIENT_ID})
    callback_mismatch = tenant.logs.events("f")[0]
    assert callback_mismatch["description"] == (
        "Callback URL mismatch. http://localhost:3005/callback is not in the list of allowed callback URLs"
    )
    assert callback_mismatch["details"] == {"redirect_uri": "http://localhost:3005/callback"}
    assert tenant.logs.events("flo")[0]["description"] == (
        'The "returnTo" querystring parameter "https://evil.example/" is not defined as a valid URL in '
        '"Allowed Logout URLs".'
    )


def test_back_channel_deliveries_and_their_retries_are_logged(state_dir, secret):
    from .test_backchannel_logout import log_in_at, receiving

    with receiving(statuses=[503]) as receiver:
        tenant = DevTenant(ISSUER, state_dir, testing=True, any_app_port=True)
        tenant.backchannel.retry_delays = (0.01,)
        with TestClient(tenant.app, follow_redirects=False) as client:
            log_in_at(client, receiver.callback, secret)
            client.get("/v2/logout")
            deadline = time.monotonic() + 10  # a bound on the wait, not a timed assertion
            while len(receiver.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
    failed = tenant.logs.events("oidc_backchannel_logout_failed")[0]
    ok = tenant.logs.events("oidc_backchannel_logout_succeeded")[0]
    assert failed["description"].endswith("answered 503") and failed["details"]["attempt"] == 1
    assert ok["details"]["attempt"] == 2 and ok["description"].endswith("(attempt 2)")
    assert ok["user_id"].startswith("auth0|") and ok["client_id"] == DEV_CLIENT_ID


def test_no_password_code_token_or_secret_ever_reaches_the_stored_log(client, tenant, secret, state_dir):
    verifier, challenge = pkce_pair()
    callback, _ = login(client, code_challenge=challenge, code_challenge_method="S256")
    tokens = exchange(client, callback["code"], secret, code_verifier=verifier).json()
    exchange(client, callback["code"], secret, code_verifier=verifier)  # a replay: refused, logged
    body = {"grant_type": "password", "client_id": DEV_CLIENT_ID, "client_secret": secret}
    password_tokens = client.post(
        "/oauth/token", data={**body, "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    ).json()
    client.post("/oauth/token", data={**body, "username": DEMO_EMAIL, "password": "Wr0ng-" + DEMO_PASSWORD})
    client.get(
        "/oidc/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://localhost:3000"},
    )
    stored = (state_dir / LOGS_FILE).read_text()
    assert len(stored.splitlines()) >= 6
    secrets_seen = [
        DEMO_PASSWORD,
        secret,
        callback["code"],
        verifier,
        tokens["access_token"],
        tokens["id_token"],
        password_tokens["access_token"],
        password_tokens["id_token"],
        *client.cookies.values(),
    ]
    for value in secrets_seen:
        assert value and value not in stored
    page = client.get("/dashboard/logs").text + "".join(
        client.get(f"/dashboard/logs/{e['log_id']}").text for e in tenant.logs.events()
    )
    for value in secrets_seen:
        assert value not in page


def test_the_log_is_kept_in_the_state_folder_0600_and_read_back_after_a_restart(client, tenant, state_dir):
    login(client)
    assert oct((state_dir / LOGS_FILE).stat().st_mode & 0o777) == "0o600"
    again = DevTenant(ISSUER, state_dir)
    assert [e["log_id"] for e in again.logs.events()] == [e["log_id"] for e in tenant.logs.events()]


def test_the_log_is_bounded(monkeypatch, state_dir):
    monkeypatch.setattr(logs_module, "MAX_EVENTS", 5)
    tenant = DevTenant(ISSUER, state_dir)
    tenant.logs = logs_module.TenantLog(state_dir, "testserver", tenant.now, tenant._client_name)
    for n in range(23):
        tenant.logs.record("f", f"event {n}")
    assert len(tenant.logs.events(limit=100)) == 5
    assert tenant.logs.events()[0]["description"] == "event 22"
    assert len((state_dir / LOGS_FILE).read_text().splitlines()) <= 10
    reread = logs_module.TenantLog(state_dir, "testserver", tenant.now, tenant._client_name)
    assert [e["description"] for e in reread.events()] == [f"event {n}" for n in range(22, 17, -1)]


def test_a_damaged_log_line_is_skipped(state_dir):
    (state_dir / LOGS_FILE).write_text('{"log_id": "1", "type": "s"}\n{cut sho\n', encoding="utf-8")
    assert [e["log_id"] for e in DevTenant(ISSUER, state_dir).logs.events()] == ["1"]


def test_the_logs_page_is_newest_first_and_filters_by_type_and_user(client, tenant):
    page, _ = start_login(client)
    submit_login(client, page, email="nobody@example.com")
    submit_login(client, page)
    everything = client.get("/dashboard/logs").text
    assert everything.index("Success Login") < everything.index("Failed Login (Invalid Email/Username)")
    only_fu = client.get("/dashboard/logs", params={"type": "fu"}).text
    assert "nobody@example.com" in only_fu and DEMO_EMAIL not in only_fu.split("<tbody>")[1]
    by_user = client.get("/dashboard/logs", params={"user": "NOBODY"}).text.split("<tbody>")[1]
    assert "nobody@example.com" in by_user and "Success Login" not in by_user
    assert "No events match this filter" in client.get("/dashboard/logs", params={"user": "zzz"}).text
    assert client.get("/dashboard/logs", params={"type": "<script>"}).status_code == 200


def test_an_events_detail_is_auth0s_log_event_json(client, tenant):
    login(client)
    event = tenant.logs.events("s")[0]
    page = client.get(f"/dashboard/logs/{event['log_id']}")
    assert page.status_code == 200
    raw = re.search(r"<pre[^>]*>(.*?)</pre>", page.text, re.S).group(1)
    shown = json.loads(
        raw.replace("&#34;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    assert shown == event


@pytest.mark.parametrize("log_id", ["123", "x" * 50, "../etc"])
def test_an_unknown_event_is_a_404_page(client, log_id):
    assert client.get(f"/dashboard/logs/{log_id}").status_code == 404
