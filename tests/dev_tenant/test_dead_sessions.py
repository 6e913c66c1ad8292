"""Nothing a tenant session issued still works once that session has ended: not a code not yet exchanged,
not an access token at /userinfo. Ended: by /v2/logout, by /oidc/logout, or by its expiry."""

from __future__ import annotations

import pytest

from shared.dev_tenant.models import SSO_TTL

from .conftest import authorize_params, exchange, login, query
from .test_token_endpoint import password_grant

LOGOUTS = ["/v2/logout", "/oidc/logout"]


def silent_code(client) -> str:
    """A code from the running SSO session, without a login page (the SSO path)."""
    response = client.get("/authorize", params=authorize_params(prompt="none"))
    assert response.status_code == 302, response.text
    return query(response.headers["location"])["code"]


def log_out(client, logout: str):
    """A logout naming the browser's session, as step 03's does (/oidc/logout asks the user otherwise)."""
    return client.get(logout, params={"logout_hint": client.cookies.get("devtenant_session")})


def userinfo(client, access_token: str):
    return client.get("/userinfo", headers={"authorization": f"Bearer {access_token}"})


def assert_refused_code(response) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}


def assert_refused_token(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("logout", LOGOUTS)
def test_a_code_issued_before_a_logout_is_refused_after_it(client, secret, logout):
    login(client)
    code = silent_code(client)
    assert log_out(client, logout).status_code == 200
    assert_refused_code(exchange(client, code, secret))


def test_a_code_from_a_session_that_expired_since_is_refused(client, tenant, secret):
    login(client)
    real = tenant.clock
    tenant.clock = lambda: real() + SSO_TTL - 5  # the session's last seconds
    code = silent_code(client)
    tenant.clock = lambda: real() + SSO_TTL + 5  # the code is a few seconds old, the session is over
    assert_refused_code(exchange(client, code, secret))


def test_a_code_is_still_exchanged_while_its_session_runs(client, secret):
    login(client)
    response = exchange(client, silent_code(client), secret)
    assert response.status_code == 200 and "access_token" in response.json()


@pytest.mark.parametrize("logout", LOGOUTS)
def test_userinfo_refuses_an_access_token_whose_session_was_logged_out_of(client, secret, logout):
    callback, _ = login(client)
    access_token = exchange(client, callback["code"], secret).json()["access_token"]
    assert userinfo(client, access_token).status_code == 200
    log_out(client, logout)
    assert_refused_token(userinfo(client, access_token))


def test_userinfo_refuses_an_access_token_whose_session_expired(client, tenant, secret):
    login(client)
    real = tenant.clock
    tenant.clock = lambda: real() + SSO_TTL - 5
    access_token = exchange(client, silent_code(client), secret).json()["access_token"]
    assert userinfo(client, access_token).status_code == 200
    tenant.clock = lambda: real() + SSO_TTL + 5
    assert_refused_token(userinfo(client, access_token))


def test_a_password_grant_token_has_no_session_to_lose(client, secret):
    """Step 02 logs in without the browser: no SSO session stands behind its token, and a logout in some
    browser does not end it."""
    access_token = password_grant(client, secret).json()["access_token"]
    login(client)
    client.get("/v2/logout")
    assert userinfo(client, access_token).status_code == 200
