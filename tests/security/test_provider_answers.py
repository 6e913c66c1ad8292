"""Every upstream answer that is not what the spec says ends in a 502/503/504 page naming the provider.

Discovery, JWKS, token and userinfo each answer wrongly in turn (a proxy's HTML page with 200, text, a
JSON array, a redirect, an error page, missing fields, wrong types, a hang). The login must end on a
5xx page other than 500 that names the provider and what it sent, with no traceback anywhere and no
session stored. Run against the generic-provider dev tenant, so /userinfo is called at every login.
"""

from __future__ import annotations

import httpx2
import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.forms import password_form
from tests.support.steps import COOKIES

STEP = "01-Login/app.py"
TIMEOUT = 0.5  # the app's wait for the provider in these tests; the hang lasts longer

HTML = {"status": 200, "body": "<html><body><h1>Proxy: upstream gone</h1></body></html>", "content_type": "text/html"}
COMMON = {
    "html_with_200": HTML,
    "plain_text": {"status": 200, "body": "hello", "content_type": "text/plain"},
    "empty_body": {"status": 200, "body": ""},
    "json_array": {"status": 200, "body": [1, 2, 3]},
    "json_string": {"status": 200, "body": "ok"},
    "redirect": {"status": 302, "body": "", "location": "http://localhost:9/elsewhere"},
    "error_page_500": {"status": 500, "body": "<h1>Internal Server Error</h1>", "content_type": "text/html"},
    "hang": {"status": 200, "body": {}, "delay": 3},
}


def discovery_cases(issuer: str, origin: str) -> dict[str, dict]:
    good = {
        "issuer": issuer,
        "authorization_endpoint": f"{origin}/authorize",
        "token_endpoint": f"{origin}/oauth/token",
        "jwks_uri": f"{origin}/.well-known/jwks.json",
    }
    missing = {key: value for key, value in good.items() if key != "jwks_uri"}
    return {
        "missing_jwks_uri": {"body": missing},
        "endpoint_not_a_string": {"body": {**good, "token_endpoint": 42}},
        "end_session_not_a_url": {"body": {**good, "end_session_endpoint": ["x"]}},
        "issuer_with_a_slash_added": {"body": {**good, "issuer": issuer + "/"}},
    }


SPECIFIC = {
    "jwks": {
        "keys_missing": {"body": {"nothing": []}},
        "keys_not_a_list": {"body": {"keys": "abc"}},
        "no_rsa_key": {"body": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
        "rsa_key_with_wrong_types": {"body": {"keys": [{"kty": "RSA", "n": 5, "e": None}]}},
    },
    "token": {
        "no_id_token": {"body": {"access_token": "at", "token_type": "Bearer"}},
        "id_token_not_a_string": {"body": {"id_token": 12, "access_token": "at", "token_type": "Bearer"}},
        "no_access_token": {"body": {"id_token": "a.b.c", "token_type": "Bearer"}},
        "expires_in_not_a_number": {
            "body": {"id_token": "a.b.c", "access_token": "at", "token_type": "Bearer", "expires_in": "soon"}
        },
        "error_without_oauth_shape": {"status": 400, "body": {"message": "nope"}},
    },
    "userinfo": {
        "no_sub": {"body": {"name": "Someone"}},
        "sub_not_a_string": {"body": {"sub": 12345, "name": "Someone"}},
        "unauthorized": {"status": 401, "body": "", "content_type": "text/plain"},
    },
}


def paths(issuer: str, origin: str) -> dict[str, str]:
    return {
        "discovery": issuer.removeprefix(origin) + "/.well-known/openid-configuration",
        "jwks": "/.well-known/jwks.json",
        "token": "/oauth/token",
        "userinfo": "/userinfo",
    }


CASES = (
    [(endpoint, name) for endpoint in ("discovery", "jwks", "token", "userinfo") for name in COMMON]
    + [
        ("discovery", name)
        for name in ("missing_jwks_uri", "endpoint_not_a_string", "end_session_not_a_url", "issuer_with_a_slash_added")
    ]
    + [(endpoint, name) for endpoint, cases in SPECIFIC.items() for name in cases]
)


def try_to_log_in(http: httpx2.Client, app: str) -> httpx2.Response:
    """Click Log In; if the provider's password page shows, fill it in; return where the app ends up."""
    page = http.get(f"{app}/login", follow_redirects=True)
    if page.status_code == 200 and "/u/login" in str(page.url):
        form = password_form(page.text, str(page.url))
        data = {**form.fields, form.field_named(type_="email") or "username": DEMO_EMAIL}
        data[form.field_named(type_="password") or "password"] = DEMO_PASSWORD
        page = http.post(form.action, data=data, follow_redirects=True)
    return page


@pytest.mark.parametrize(("endpoint", "case"), CASES, ids=[f"{e}-{c}" for e, c in CASES])
def test_a_wrong_upstream_answer_is_a_5xx_page_naming_the_tenant(
    serve_step, generic_tenant, http, caplog, endpoint, case
):
    issuer = generic_tenant.issuer
    origin = issuer.removesuffix("/realms/generic")
    answers = {
        **COMMON,
        **SPECIFIC.get(endpoint, {}),
        **(discovery_cases(issuer, origin) if endpoint == "discovery" else {}),
    }
    generic_tenant.tenant.faults.update(answers={paths(issuer, origin)[endpoint]: answers[case]})
    with serve_step(STEP, on=generic_tenant, http_timeout=TIMEOUT) as app:
        page = try_to_log_in(http, app)
        assert page.status_code in (502, 503, 504), page.text
        assert str(page.url).startswith(app)
        assert issuer in page.text or repr(issuer) in page.text, page.text
        assert "Traceback" not in page.text and "Something went wrong" not in page.text
        if endpoint == "token" and "id_token" in str(answers[case]["body"]):
            assert "a.b.c" not in page.text  # the token answer is described by its shape, never echoed
        cookies = COOKIES[STEP]
        assert cookies.stored_id_token(http.cookies.get(cookies.holder)) is None
        assert "Welcome" not in http.get(f"{app}/").text
    assert not [record for record in caplog.records if record.exc_info], "a traceback reached the log"
