"""Step 01 — Login, over real HTTP against the dev tenant: what a visitor sees at each step."""

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import hosted_login
from tests.support.pages import log_out

STEP = "01-Login/app.py"


@pytest.fixture
def app(serve_step):
    with serve_step(STEP) as url:
        yield url


def test_logged_out_home_shows_the_log_in_button(app, http):
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    assert 'id="btn-login"' in page.text
    assert 'id="btn-logout"' not in page.text


def test_login_redirects_to_authorize_with_state_nonce_and_pkce(app, http, tenant):
    response = http.get(f"{app}/login")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}/" == tenant.issuer
    assert location.path == "/authorize"
    query = parse_qs(location.query)
    assert query["redirect_uri"] == [f"{app}/callback"]
    assert query["scope"] == ["openid profile email"]
    assert query["code_challenge_method"] == ["S256"]
    for name in ("state", "nonce", "code_challenge", "client_id"):
        assert query[name][0]


def test_login_through_the_hosted_page_shows_the_nickname(app, http):
    page = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 200, page.text
    assert str(page.url) == f"{app}/"
    assert "Welcome demo" in page.text
    assert 'id="btn-logout"' in page.text
    assert 'class="avatar"' in page.text


def test_session_cookie_is_httponly_and_samesite_lax(app, http):
    http.get(f"{app}/login", follow_redirects=True)
    login = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    set_cookies = [
        h for r in [*login.history, login] for h in r.headers.get_list("set-cookie") if h.startswith("step01_id_token=")
    ]
    assert set_cookies, "the callback set no id_token cookie"
    flags = set_cookies[-1].lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # plain http on localhost; Secure is added for an https APP_BASE_URL


def test_logout_forgets_the_user(app, http):
    hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    response = log_out(http, app)
    assert response.status_code == 303
    assert (
        'step01_id_token=""' in response.headers["set-cookie"] or "step01_id_token=;" in response.headers["set-cookie"]
    )
    http.cookies.delete("step01_id_token")
    page = http.get(f"{app}/")
    assert 'id="btn-login"' in page.text


def test_denied_login_is_a_403_page_with_a_way_back(app, http):
    login = http.get(f"{app}/login")
    state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
    page = http.get(
        f"{app}/callback", params={"error": "access_denied", "error_description": "User cancelled", "state": state}
    )
    assert page.status_code == 403, page.text
    assert "Login cancelled" in page.text
    assert 'href="/"' in page.text
    assert "step01_id_token" not in page.headers.get("set-cookie", "")


def test_callback_with_no_login_in_progress_is_a_400_page(app, http):
    page = http.get(f"{app}/callback", params={"code": "abc", "state": "xyz"})
    assert page.status_code == 400, page.text
    assert "No login in progress" in page.text
    assert "step01_id_token" not in page.headers.get("set-cookie", "")


def test_replayed_callback_is_refused(app, http):
    page = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    callback = next(r for r in page.history if r.url.path == "/callback")
    http.cookies.clear()
    replay = http.get(str(callback.url))
    assert replay.status_code == 400, replay.text
    assert "step01_id_token" not in replay.headers.get("set-cookie", "")


def test_state_from_another_login_is_refused(app, http):
    http.get(f"{app}/login")
    page = http.get(f"{app}/callback", params={"code": "abc", "state": "not-the-one-we-sent"})
    assert page.status_code == 400, page.text


def test_token_for_another_client_is_refused(app, http, tenant):
    tenant.tenant.faults.update(id_token_claims={"aud": "someone-elses-client"})
    page = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 401, page.text
    assert "aud" in page.text
    assert "step01_id_token" not in http.cookies


def test_127_0_0_1_is_sent_to_the_configured_host_first(app, http):
    port = urlsplit(app).port
    response = http.get(f"http://127.0.0.1:{port}/login?x=1")
    assert response.status_code == 307
    assert response.headers["location"] == f"{app}/login?x=1"


def test_forged_host_header_cannot_redirect_elsewhere(app, http):
    response = http.get(f"{app}/", headers={"host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"].startswith(app + "/")


def test_tampered_cookie_reads_as_logged_out_and_is_removed(app, http):
    page = http.get(f"{app}/", headers={"cookie": "step01_id_token=eyJhbGciOiJSUzI1NiJ9.e30.AAAA"})
    assert 'id="btn-login"' in page.text
    assert "step01_id_token=" in page.headers.get("set-cookie", "")


def test_unknown_page_is_a_404_page(app, http):
    page = http.get(f"{app}/nope")
    assert page.status_code == 404
    assert "Page not found" in page.text


def test_tenant_down_is_a_503_page_naming_it(serve_step, tenant, http):
    from dataclasses import replace

    dead = replace(tenant, issuer="http://localhost:9/")
    with serve_step(STEP, on=dead) as app:
        page = http.get(f"{app}/login")
    assert page.status_code == 503, page.text
    assert "http://localhost:9/" in page.text


def test_wrong_client_secret_is_not_reported_as_a_cancelled_login(serve_step, http):
    with serve_step(STEP, client_secret="not-the-secret") as app:
        page = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 502, page.text
    assert "AUTH0_CLIENT_SECRET" in page.text
    assert "cancelled" not in page.text


def test_a_tenant_name_that_does_not_resolve_names_auth0_domain(serve_step, tenant, http):
    """A misspelt AUTH0_DOMAIN: the page says which variable to check and how, not "try again"."""
    with serve_step(STEP, issuer="https://no-such-tenant.invalid/", embedded=False) as app:
        page = http.get(f"{app}/login")
    assert page.status_code == 503, page.text
    assert "AUTH0_DOMAIN" in page.text and "uv run python -m shared.doctor" in page.text
    assert "Try again in a moment" not in page.text


def test_a_domain_without_http_on_a_plain_http_tenant_says_to_write_http(serve_step, tenant, http):
    """AUTH0_DOMAIN=localhost:4000 means https://localhost:4000/: the tenant did answer, in plain http."""
    port = urlsplit(tenant.issuer).port
    with serve_step(STEP, issuer=f"https://localhost:{port}/", embedded=False) as app:
        page = http.get(f"{app}/login")
    assert page.status_code == 503, page.text
    assert f"this server speaks plain http: write AUTH0_DOMAIN=http://localhost:{port}/" in page.text
    assert "Try again in a moment" not in page.text and "WRONG_VERSION_NUMBER" not in page.text


def test_after_log_out_the_page_says_you_are_logged_out_once(app, http):
    hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    page = log_out(http, app, follow_redirects=True)
    assert "You are logged out." in page.text and 'id="btn-login"' in page.text
    assert "You are logged out." not in http.get(f"{app}/").text  # a first visit looks like one again
