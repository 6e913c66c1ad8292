"""Step 03 — Session Handling, both storage variants, over real HTTP against the dev tenant.

One suite, run once per variant: Create Session, Check Session (on reload, on expiry, on tampered
or forged cookies), Logout (here and at the tenant), cookie flags, the size guard, and sessions
shared by two instances of the app.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc import jwt
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.cookies import MAX_COOKIE_BYTES
from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID
from tests.conftest import hosted_login
from tests.support.listings import function_source
from tests.support.pages import log_in_as_demo, log_out, shows_logged_out
from tests.support.steps import COOKIES, ROOT, StepCookies, load_step, session_data

OTHER_KEY = "another-app-secret-key-" + "y" * 32


@dataclass(frozen=True)
class Variant:
    """One way of keeping the session, and how to look inside the browser's cookie for it."""

    path: str

    @property
    def cookies(self) -> StepCookies:
        return COOKIES[self.path]

    @property
    def cookie(self) -> str:
        """The cookie that holds the session."""
        return self.cookies.holder

    @property
    def signed_by_app(self) -> bool:
        """True: the cookie itself is signed with APP_SECRET_KEY (SessionMiddleware)."""
        return self.cookies.id_token is None

    def stored_id_token(self, http: httpx2.Client) -> str | None:
        """The id_token the browser holds for this app right now (None: no session)."""
        return self.cookies.stored_id_token(http.cookies.get(self.cookie))

    session_data = staticmethod(session_data)

    def holding(self, id_token: str, secret_key: str) -> str:
        """A Cookie header for a session holding `id_token`, written the way this variant writes it."""
        return self.cookies.holding(id_token, secret_key)


COOKIE = Variant("03-Session-Handling/cookie_app.py")
WRAPPER = Variant("03-Session-Handling/wrapper_app.py")


@pytest.fixture(params=[COOKIE, WRAPPER], ids=["cookie", "wrapper"])
def variant(request) -> Variant:
    return request.param


@pytest.fixture
def app(serve_step, variant):
    with serve_step(variant.path) as url:
        yield url


@pytest.fixture
def secret_key(tenant) -> str:
    return tenant.settings_for(0).app_secret_key


def log_in(http: httpx2.Client, app: str) -> httpx2.Response:
    page = log_in_as_demo(http, app)
    assert "Welcome demo" in page.text, page.text
    return page


def set_cookies(response: httpx2.Response, name: str) -> list[str]:
    """The Set-Cookie headers for `name` along the whole redirect chain that ended in `response`."""
    return [
        h for r in [*response.history, response] for h in r.headers.get_list("set-cookie") if h.startswith(f"{name}=")
    ]


def removes(response: httpx2.Response, name: str) -> bool:
    """Does the response take the id_token in cookie `name` away: delete it, or (a signed cookie,
    which may keep the Log Out button's CSRF token) rewrite it without one?"""
    for header in set_cookies(response, name):
        if "1970" in header or "max-age=0" in header.lower():
            return True
        value = header.split(";", 1)[0].split("=", 1)[1]
        if name.endswith("_signed") and "id_token" not in session_data(value):
            return True
    return False


def logged_out(page: httpx2.Response) -> bool:
    return shows_logged_out(page.text)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- Create Session -----------------------------------------------------------------------------


def test_logged_out_page_shows_log_in_and_the_session_panel(app, http, variant):
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    assert "<title>Session Handling" in page.text
    assert "<h1>Session Handling</h1>" in page.text
    assert logged_out(page)
    assert 'id="session-panel"' in page.text
    assert f"<code>{variant.cookie}</code>" in page.text


def test_login_creates_a_session_holding_only_the_id_token(app, http, variant):
    page = log_in(http, app)
    assert str(page.url) == f"{app}/"
    assert 'id="btn-logout"' in page.text
    id_token = variant.stored_id_token(http)
    assert id_token and id_token.count(".") == 2, "the browser holds no id_token"
    if variant.signed_by_app:
        # No login leftovers, and no CSRF token: the Log Out button's is derived from the session.
        assert set(variant.session_data(http.cookies[variant.cookie])) == {"id_token"}
    else:
        # The logged-in page needs no signed cookie at all: the login in progress went at the callback.
        assert not [name for name in http.cookies if name.endswith("_signed")], dict(http.cookies)


def test_panel_shows_the_variant_the_user_and_when_the_session_expires(app, http, variant):
    page = log_in(http, app)
    payload = json.loads(base64.urlsafe_b64decode(variant.stored_id_token(http).split(".")[1] + "=="))
    expires = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(payload["exp"]))
    assert ("plain cookie" if variant is COOKIE else "SessionMiddleware") in page.text
    assert "demo &lt;demo@example.com&gt;" in page.text
    assert f'<time datetime="{expires}">' in page.text
    # The defaults: 30 minutes idle, 8 hours at most (shorter than the token's 10 hours).
    assert re.search(r'id="session-idle">in (29 min \d+ s|30 min 0 s) without', page.text), page.text
    assert re.search(r"in (7 h 59|8 h 0) min", page.text), page.text
    assert "of the 4096 bytes" in page.text
    assert 'id="session-identity"><code>sid ' in page.text  # the dev tenant sends a sid


# ---- Check Session ------------------------------------------------------------------------------


def test_reload_stays_logged_in(app, http):
    log_in(http, app)
    for _ in range(2):
        page = http.get(f"{app}/")
        assert "Welcome demo" in page.text
        assert 'id="btn-logout"' in page.text
        assert not page.headers.get_list("set-cookie"), "a reload must not rewrite or delete the session"


def test_each_user_sees_their_own_page_though_pages_are_cached(app, tenant, variant):
    """The page is rendered once per session cookie and reused: another user must never get it."""
    email, password = f"cache-{uuid.uuid4().hex[:8]}@example.com", "Other-Passw0rd!"
    tenant.tenant.create_user(email, password, nickname="someone-else")
    with httpx2.Client(timeout=10) as first, httpx2.Client(timeout=10) as second:
        log_in(first, app)
        hosted_login(second, app, email, password)
        for _ in range(2):
            assert "Welcome demo" in first.get(f"{app}/").text
            page = second.get(f"{app}/").text
            assert "Welcome someone-else" in page and "demo@example.com" not in page
        log_out(first, app, follow_redirects=True)
        assert logged_out(first.get(f"{app}/"))


def test_token_expiring_while_browsing_logs_out_and_clears_the_session(serve_step, tenant, http, variant):
    exp = int(time.time()) + 3
    tenant.tenant.faults.update(id_token_claims={"exp": exp})
    with serve_step(variant.path, leeway=0) as app:
        log_in(http, app)
        assert "Welcome demo" in http.get(f"{app}/").text
        time.sleep(max(0.0, exp - time.time()) + 1.1)
        page = http.get(f"{app}/")
    assert logged_out(page), page.text
    assert removes(page, variant.cookie)
    assert variant.stored_id_token(http) is None


def _tampered(tenant, http, app, variant) -> str:
    log_in(http, app)
    header, payload, signature = variant.stored_id_token(http).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return f"{header}.{b64url(json.dumps({**claims, 'sub': 'auth0|admin'}).encode())}.{signature}"


def _foreign_signed(tenant, http, app, variant) -> str:
    now = int(time.time())
    claims = {"iss": tenant.issuer, "aud": DEV_CLIENT_ID, "sub": "auth0|admin", "iat": now, "exp": now + 600}
    header = {"alg": "RS256", "kid": tenant.tenant.keys.current.kid}
    return jwt.encode(header, claims, tenant.tenant.keys.foreign_key())


def _alg_none(tenant, http, app, variant) -> str:
    now = int(time.time())
    claims = {"iss": tenant.issuer, "aud": DEV_CLIENT_ID, "sub": "auth0|admin", "iat": now, "exp": now + 600}
    header = b64url(json.dumps({"alg": "none"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def _other_client(tenant, http, app, variant) -> str:
    tenant.tenant.faults.update(id_token_claims={"aud": "someone-elses-client"})
    response = http.post(
        f"{tenant.issuer}oauth/token",
        data={
            "grant_type": "password",
            "username": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "client_id": DEV_CLIENT_ID,
            "client_secret": tenant.settings_for(0).client_secret,
            "scope": "openid",
        },
    )
    return response.json()["id_token"]


@pytest.mark.parametrize(
    "make_token",
    [_tampered, _foreign_signed, _alg_none, _other_client, lambda *_: "not-a-jwt"],
    ids=["tampered-claims", "foreign-signed", "alg-none", "another-clients-token", "not-a-jwt"],
)
def test_untrustworthy_id_token_reads_as_logged_out_and_is_removed(app, http, tenant, variant, secret_key, make_token):
    token = make_token(tenant, http, app, variant)
    page = httpx2.get(f"{app}/", headers={"cookie": variant.holding(token, secret_key)})
    assert page.status_code == 200, page.text
    assert logged_out(page), page.text
    assert removes(page, variant.cookie)


@pytest.mark.parametrize("damage", ["signed-with-another-key", "truncated", "garbage"])
def test_unreadable_session_cookie_reads_as_logged_out_and_is_removed(app, http, tenant, variant, damage):
    log_in(http, app)
    value = http.cookies[variant.cookie]
    if damage == "signed-with-another-key" and variant.signed_by_app:
        cookie = variant.holding(variant.stored_id_token(http), OTHER_KEY)
    elif damage == "signed-with-another-key":  # the plain cookie's only signature is the id_token's own
        claims = json.loads(base64.urlsafe_b64decode(value.split(".")[1] + "=="))
        header = {"alg": "RS256", "kid": tenant.tenant.keys.current.kid}
        cookie = variant.holding(jwt.encode(header, claims, tenant.tenant.keys.foreign_key()), OTHER_KEY)
    elif damage == "truncated":
        cookie = f"{variant.cookie}={value[: len(value) // 2]}"
    else:
        cookie = f"{variant.cookie}={'%%not*base64!!' * 20}"
    page = httpx2.get(f"{app}/", headers={"cookie": cookie})
    assert page.status_code == 200, page.text
    assert logged_out(page), page.text
    assert removes(page, variant.cookie)


def test_a_login_in_progress_survives_a_visit_to_the_home_page(app, http, variant):
    http.get(f"{app}/login")  # state, nonce and PKCE verifier wait in the session cookie until /callback
    page = http.get(f"{app}/")
    assert not removes(page, variant.cookies.signed)
    log_in(http, app)


# ---- Cookie flags and the size guard ------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(app, http, variant):
    page = log_in(http, app)
    written = [h for h in set_cookies(page, variant.cookie) if "1970" not in h]
    assert written, f"the login set no {variant.cookie} cookie"
    flags = [part.strip().lower() for part in written[-1].split(";")[1:]]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # plain http on localhost


def test_session_cookie_is_secure_when_the_app_is_served_over_https(tenant, variant):
    settings = tenant.settings_for(443, base_url="https://localhost")
    step = load_step(variant.path)
    app = step.create_app(settings)

    async def create_session(request: Request) -> Response:
        response = PlainTextResponse("created")
        step.store_id_token(request, response, "header.payload.signature")
        return response

    app.router.routes.insert(0, Route("/test-create-session", create_session))
    client = TestClient(app, base_url="https://localhost")
    response = client.get("/test-create-session")
    assert response.status_code == 200, response.text
    # Over https the cookie takes the __Host- prefix: Secure, Path=/, no Domain, or the browser refuses it.
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"__Host-{variant.cookie}="))
    flags = [part.strip().lower() for part in header.split(";")[1:]]
    assert {"httponly", "samesite=lax", "secure"} <= set(flags), header


def test_token_too_large_for_a_cookie_is_a_clear_400_page(app, http, tenant, variant):
    tenant.tenant.faults.update(id_token_claims={"padding": "x" * MAX_COOKIE_BYTES})
    page = hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 400, page.text
    assert "Session too large" in page.text
    assert "4096 bytes" in page.text
    assert variant.stored_id_token(http) is None
    assert logged_out(http.get(f"{app}/"))


def test_a_large_token_that_still_fits_is_kept(app, http, tenant, variant):
    tenant.tenant.faults.update(id_token_claims={"padding": "x" * 1000})
    page = log_in(http, app)
    assert variant.stored_id_token(http)
    assert all(len(h) <= MAX_COOKIE_BYTES for h in set_cookies(page, variant.cookie))


# ---- Logout -------------------------------------------------------------------------------------


def _log_out_and_in_again(http: httpx2.Client, app: str, variant: Variant, logout_path: str) -> httpx2.Response:
    log_in(http, app)
    response = log_out(http, app)
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["location"])
    assert target.path == logout_path
    home = http.get(response.headers["location"], follow_redirects=True)
    assert str(home.url).startswith(app) and home.url.path == "/", home.url
    assert logged_out(home), home.text
    assert variant.stored_id_token(http) is None
    again = http.get(f"{app}/login", follow_redirects=True)
    assert again.status_code == 200, again.text
    assert urlsplit(str(again.url)).path == "/u/login", "Log In signed the user straight back in"
    assert 'type="password"' in again.text
    return response


def test_logout_ends_the_tenant_session_at_its_end_session_endpoint(app, http, variant):
    response = _log_out_and_in_again(http, app, variant, "/oidc/logout")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["post_logout_redirect_uri"] == [app]
    assert query["client_id"] == [DEV_CLIENT_ID]
    # No id_token in the URL: it stays in the browser's history, where it would still log in to
    # steps 01 and 02 (same client, no records) until it expires. The tenant session's sid instead.
    assert "id_token_hint" not in query
    assert not any(value.count(".") == 2 for values in query.values() for value in values)
    assert query["logout_hint"][0]


def test_logout_falls_back_to_v2_logout_when_the_tenant_advertises_no_end_session(
    serve_step, fresh_tenant, http, variant
):
    with fresh_tenant(advertise_end_session=False) as own, serve_step(variant.path, on=own) as app:
        response = _log_out_and_in_again(http, app, variant, "/v2/logout")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query == {"returnTo": [app], "client_id": [DEV_CLIENT_ID]}


def test_logout_with_the_tenant_down_still_ends_the_local_session(serve_step, tenant, http, variant, secret_key):
    dead = replace(tenant, issuer="http://localhost:9/")
    with serve_step(variant.path, on=dead) as app:
        with httpx2.Client() as browser:
            name, _, value = variant.holding("a.b.c", secret_key).partition("=")
            browser.cookies.set(name, value, domain="localhost")
            page = log_out(browser, app)
    assert page.status_code == 503, page.text
    assert "Logged out of this app only" in page.text
    assert removes(page, variant.cookie)


# ---- Stateless sessions -------------------------------------------------------------------------


def test_two_instances_with_the_same_secret_share_sessions(serve_step, http, variant):
    with serve_step(variant.path) as first, serve_step(variant.path) as second:
        log_in(http, first)  # the cookie is for host localhost, so the second port receives it too
        page = http.get(f"{second}/")
        assert "Welcome demo" in page.text, page.text
        assert 'id="btn-logout"' in page.text


def test_an_instance_with_another_secret(serve_step, http, variant):
    """The wrapper's cookie is signed with APP_SECRET_KEY; the plain cookie only needs the tenant's signature."""
    with serve_step(variant.path) as first, serve_step(variant.path, app_secret_key=OTHER_KEY) as second:
        log_in(http, first)
        page = http.get(f"{second}/")
    assert logged_out(page) is variant.signed_by_app, page.text


# ---- The lesson's listings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "calls"),
    [
        (
            "03-Session-Handling/wrapper_app.py",
            {
                "store_id_token": 'request.session["id_token"] = id_token',
                "read_id_token": 'request.session.get("id_token")',
                "erase_id_token": 'request.session.pop("id_token"',
            },
        ),
        (
            "03-Session-Handling/cookie_app.py",
            {
                "store_id_token": "response.set_cookie(",
                "read_id_token": "request.cookies.get(",
                "erase_id_token": "response.delete_cookie(",
            },
        ),
    ],
    ids=["wrapper", "cookie"],
)
def test_each_variant_shows_its_storage_calls_in_its_own_functions(path, calls):
    for function, call in calls.items():
        assert call in function_source(ROOT, path, function), f"{function} in {path} does not show {call}"
