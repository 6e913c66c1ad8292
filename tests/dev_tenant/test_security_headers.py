"""Every answer the tenant gives carries its security headers: pages, JSON, redirects, 404s, 405s."""

from __future__ import annotations

import pytest

from shared.dev_tenant.security_headers import PAGE_CSP

from .conftest import authorize_params, exchange, login

ANSWERS = {
    "a JSON endpoint": ("GET", "/.well-known/openid-configuration", 200),
    "the keys": ("GET", "/.well-known/jwks.json", 200),
    "a page": ("GET", "/", 200),
    "an unknown path": ("GET", "/no/such/page", 404),
    "a wrong method": ("DELETE", "/oauth/token", 405),
    "a JSON error": ("POST", "/oauth/token", 401),
    "an unknown client's page": ("GET", "/authorize", 400),
    "an avatar": ("GET", "/avatars/abc.svg", 200),
}
DASHBOARD_ANSWERS = {
    "the dashboard": ("GET", "/dashboard", 200),
    "a refused dashboard form": ("POST", "/dashboard", 415),
    "an unknown log event": ("GET", "/dashboard/logs/1", 404),
}


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_answer_is_nosniff_and_sends_no_referrer(client, kind):
    method, path, status = ANSWERS[kind]
    response = client.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("kind", DASHBOARD_ANSWERS)
def test_dashboard_answers_are_nosniff_and_send_their_referrer_to_the_tenant_only(client, kind):
    """same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with the dashboard's
    own forms (dashboard.py), which its origin check refuses."""
    method, path, status = DASHBOARD_ANSWERS[kind]
    response = client.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_a_foreign_host_refusal_is_nosniff_too(client):
    response = client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400 and response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/authorize", "/dashboard", "/dashboard/logs"])
def test_html_answers_may_not_be_framed(client, path):
    response = client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_login_redirect_and_page_and_the_code_redirect_are_no_store(client):
    start = client.get("/authorize", params=authorize_params())
    assert start.status_code == 302 and start.headers["cache-control"] == "no-store"
    page = client.get(start.headers["location"])
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_token_and_userinfo_answers_are_no_store_and_keep_auth0s_headers(client, secret):
    callback, _ = login(client)
    tokens = exchange(client, callback["code"], secret)
    assert tokens.headers["cache-control"] == "no-store" and tokens.headers["pragma"] == "no-cache"
    assert tokens.headers["x-content-type-options"] == "nosniff"
    info = client.get("/userinfo", headers={"authorization": f"Bearer {tokens.json()['access_token']}"})
    assert info.status_code == 200 and info.headers["cache-control"] == "no-store"
    refused = client.get("/userinfo")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_the_avatar_keeps_its_own_cache_policy(client):
    response = client.get("/avatars/abc.svg")
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["content-security-policy"] == "default-src 'none'"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/page", 404), ("GET", "/oauth/token", 405), ("POST", "/", 405), ("GET", "/avatars/x", 404)],
)
def test_the_html_404_and_405_pages_carry_every_page_header(client, method, path, status):
    """A browser's 404 and 405 are pages like the others (issue #31): not framed, not cached, no scripts."""
    response = client.request(method, path, headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == status and response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_logout_confirmation_and_its_answers_carry_every_page_header(client):
    login(client)
    for response in (client.get("/oidc/logout"), client.post("/u/logout", data={"action": "logout"})):
        assert response.headers["content-security-policy"] == PAGE_CSP, response.text
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
