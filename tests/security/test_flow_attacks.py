"""Attacks on the login flow itself: callbacks out of order, replayed or planted, redirects, cookies."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, Client
from tests.security.conftest import (
    STEPS,
    serve_app_warmed_up,
    set_cookie_headers,
)
from tests.support.forms import forms_in, password_form
from tests.support.pages import log_out, shows_logged_out
from tests.support.steps import COOKIES, StepCookies, session_data, sets_a_session

EVIL = "https://attacker.example"
STEP_IDS = {STEPS[0]: "01", STEPS[1]: "02", STEPS[2]: "03-cookie", STEPS[3]: "03-wrapper"}


@pytest.fixture(params=STEPS, ids=STEP_IDS.get)
def step_app(request, apps, tenant) -> str:
    return apps[request.param]


def login_path(app: str, apps: dict[str, str]) -> str:
    """Where a redirect login starts: step 02's own /login is a password form post; its Google button redirects."""
    return "/login/google" if app == apps["02-Custom-Login/app.py"] else "/login"


def cookies_of(app: str, apps: dict[str, str]) -> StepCookies:
    return COOKIES[next(step for step, url in apps.items() if url == app)]


def logged_out(http: httpx2.Client, app: str, cookie: str | None = None) -> bool:
    page = http.get(f"{app}/", headers={"cookie": cookie} if cookie else None)
    assert page.status_code == 200, page.text
    return shows_logged_out(page.text)


def stores_no_session(response: httpx2.Response) -> bool:
    return not any(sets_a_session(header) for header in set_cookie_headers(response))


def callback_url(http: httpx2.Client, app: str, start: str = "/login") -> str:
    """Run a login up to the tenant's redirect back to the app; return that /callback URL, unvisited."""
    page = http.get(f"{app}{start}", follow_redirects=True)
    assert page.status_code == 200, page.text
    if "google" in start.split("?", 1)[0]:
        form = next(f for f in forms_in(page.text, str(page.url)) if f.fields.get("account") == "demo")
        data = form.fields
    else:
        form = password_form(page.text, str(page.url))
        data = {**form.fields, "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    answer = http.post(form.action, data=data)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{app}/callback?"), location
    return location


def login_state(http: httpx2.Client, app: str, start: str) -> str:
    """Start a login in this browser (Log In pressed, hosted page not yet used); return its state."""
    response = http.get(f"{app}{start}")
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


# ---- callbacks --------------------------------------------------------------------------------


def test_callback_with_no_login_in_progress_is_a_400_page(step_app, http):
    for query in ({}, {"code": "made-up", "state": "made-up"}, {"code": "made-up"}, {"state": "made-up"}):
        page = http.get(f"{step_app}/callback", params=query)
        assert page.status_code == 400, page.text
        assert "No login in progress" in page.text
        assert stores_no_session(page)
    assert logged_out(http, step_app)


def test_error_callback_with_no_login_in_progress_does_not_show_the_attackers_text(step_app, http):
    """A link to /callback?error=…&error_description=<anything> must not put words on the app's page."""
    planted = "Your account is suspended, call +1 555 0100"
    for state in (None, "made-up"):
        query = {"error": "access_denied", "error_description": planted, **({"state": state} if state else {})}
        page = http.get(f"{step_app}/callback", params=query)
        assert page.status_code == 400, page.text
        assert "No login in progress" in page.text
        assert "555 0100" not in page.text


def test_replayed_callback_url_is_refused(redirect_entry, apps, http, tenant):
    app = apps[redirect_entry.step]
    start = "/login/google" if redirect_entry.name == "02-google" else "/login"
    url = callback_url(http, app, start)
    first = http.get(url)
    assert first.status_code == 303, first.text
    http.cookies.clear()
    replay = http.get(url, follow_redirects=True)
    assert replay.status_code == 400, replay.text
    assert stores_no_session(replay) and logged_out(http, app)


def test_replayed_callback_with_the_session_cookie_from_before_is_refused(redirect_entry, apps, http, tenant):
    """The state lives in a client-side session cookie, so an old copy still holds it: the code, used
    once already, is what the tenant refuses the second time."""
    app = apps[redirect_entry.step]
    start = "/login/google" if redirect_entry.name == "02-google" else "/login"
    url = callback_url(http, app, start)
    session = redirect_entry.cookies.signed
    before = http.cookies.get(session)
    assert http.get(url).status_code == 303
    with httpx2.Client() as thief:
        replay = thief.get(url, headers={"cookie": f"{session}={before}"})
        assert 400 <= replay.status_code < 500, replay.text
        assert stores_no_session(replay)


def test_code_issued_to_another_client_is_refused(step_app, apps, http, tenant):
    other = Client(f"other-{secrets.token_hex(4)}", secrets.token_urlsafe(24), [f"{step_app}/callback"], [])
    tenant.tenant.register_client(other)
    with httpx2.Client() as attacker:
        authorize = attacker.get(
            f"{tenant.issuer}authorize",
            params={
                "client_id": other.client_id,
                "redirect_uri": f"{step_app}/callback",
                "response_type": "code",
                "scope": "openid",
                "state": "attacker",
                "nonce": "attacker",
            },
            follow_redirects=True,
        )
        form = password_form(authorize.text, str(authorize.url))
        answer = attacker.post(form.action, data={**form.fields, "username": DEMO_EMAIL, "password": DEMO_PASSWORD})
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    state = login_state(http, step_app, login_path(step_app, apps))
    page = http.get(f"{step_app}/callback", params={"code": code, "state": state})
    assert 400 <= page.status_code < 500, page.text
    assert stores_no_session(page) and logged_out(http, step_app)


def test_login_csrf_attackers_callback_in_the_victims_browser_is_refused(step_app, apps, tenant):
    """The attacker logs in, stops before /callback and gets the victim's browser to open that URL."""
    start = login_path(step_app, apps)
    with httpx2.Client() as attacker:
        planted = callback_url(attacker, step_app, start)
    for victim_has_own_login_in_progress in (False, True):
        with httpx2.Client() as victim:
            if victim_has_own_login_in_progress:
                login_state(victim, step_app, start)
            page = victim.get(planted)
            assert page.status_code == 400, page.text
            assert "No login in progress" in page.text
            assert stores_no_session(page) and logged_out(victim, step_app)


# ---- redirects ------------------------------------------------------------------------------

REDIRECT_PARAMETERS = ("returnTo", "return_to", "next", "redirect", "redirect_uri", "url", "post_logout_redirect_uri")


def off_site(location: str, app: str, tenant_issuer: str) -> bool:
    """A redirect that leaves both this app and its tenant, or sends the tenant an attacker's URL."""
    if location.startswith("/") and not location.startswith("//"):
        return False
    parts = urlsplit(location)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin == app:
        return False  # e.g. http://localhost:3000//attacker.example/ is a path on this app (a 404)
    if origin != tenant_issuer.rstrip("/"):
        return True
    return "attacker" in location  # the tenant, asked to send the browser on to the attacker


def test_login_ignores_returnto_next_and_redirect_parameters(step_app, http, tenant):
    for path in ("/login", "/login/google"):
        response = http.get(f"{step_app}{path}", params={name: EVIL for name in REDIRECT_PARAMETERS})
        if response.status_code == 404:
            continue  # only step 02 has /login/google
        if response.status_code == 303:  # step 02's /login takes the form's POST; a GET goes back to the form
            assert response.headers["location"] == "/", response.headers
            continue
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert not off_site(location, step_app, tenant.issuer), location
        assert parse_qs(urlsplit(location).query)["redirect_uri"] == [f"{step_app}/callback"]


def test_logout_ignores_returnto_next_and_redirect_parameters(step_app, http, tenant):
    response = log_out(http, step_app, params={name: EVIL for name in REDIRECT_PARAMETERS})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert not off_site(location, step_app, tenant.issuer), location
    if location.startswith(tenant.issuer):  # step 03 ends the tenant's session too, then comes back here
        query = parse_qs(urlsplit(location).query)
        assert query.get("post_logout_redirect_uri", query.get("returnTo")) == [step_app]


def test_after_login_the_callback_goes_home_whatever_the_login_url_said(step_app, apps, http):
    query = urlencode({name: EVIL for name in REDIRECT_PARAMETERS})
    url = callback_url(http, step_app, f"{login_path(step_app, apps)}?{query}")
    response = http.get(url)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("header", ["host", "x-forwarded-host", "forwarded", "x-original-url", "x-rewrite-url"])
def test_crafted_host_headers_cannot_redirect_off_site(step_app, http, tenant, header):
    value = {"forwarded": "host=attacker.example", "x-original-url": f"{EVIL}/", "x-rewrite-url": f"{EVIL}/"}.get(
        header, "attacker.example"
    )
    for path in ("/", "/login", "/logout", "/callback", "//attacker.example/"):
        response = http.get(f"{step_app}{path}", headers={header: value})
        assert response.status_code < 500, response.text
        location = response.headers.get("location")
        if location:
            assert not off_site(location, step_app, tenant.issuer), f"{header}: {value} on {path} → {location}"


def raw_request(app: str, request_line: bytes, host: bytes) -> bytes:
    parts = urlsplit(app)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request_line + b"\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "target", [b"@attacker.example", b"@attacker.example/", b"http://attacker.example/", b"*", b".attacker.example"]
)
def test_odd_request_targets_on_another_host_name_cannot_redirect_off_site(step_app, tenant, target):
    """The canonical-host redirect glues the request's path onto APP_BASE_URL: a path not starting with
    "/" (`GET @attacker.example`) must not turn `http://localhost:3000` into a user-info prefix."""
    answer = raw_request(step_app, b"GET " + target + b" HTTP/1.1", b"127.0.0.1")
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    assert status < 500, head
    for line in head.split("\r\n"):
        if line.lower().startswith("location:"):
            location = line.split(":", 1)[1].strip()
            assert location.startswith(f"{step_app}/"), location
            assert urlsplit(location).hostname == "localhost", location


# ---- cookies ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attacker_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


def forged_id_token(key: RSAKey, issuer: str, kid: str | None = None, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": DEV_CLIENT_ID,
        "sub": "auth0|attacker",
        "nickname": "attacker",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    header = {"alg": "RS256", **({"kid": kid} if kid else {})}
    return jwt.encode(header, payload, key)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def as_cookie(app: str, apps: dict[str, str], id_token: str, secret_key: str) -> str:
    """A Cookie header holding `id_token` the way this app's storage variant keeps it."""
    return cookies_of(app, apps).holding(id_token, secret_key)


def real_session(http: httpx2.Client, app: str, apps) -> tuple[str, str]:
    """Log in for real; return (cookie name, value) of the session."""
    http.get(callback_url(http, app, login_path(app, apps)), follow_redirects=True)
    name = cookies_of(app, apps).holder
    value = http.cookies.get(name)
    assert value and not logged_out(http, app), "the real login did not work"
    return name, value


def assert_read_as_logged_out(app: str, cookie: str) -> None:
    with httpx2.Client() as browser:
        page = browser.get(f"{app}/", headers={"cookie": cookie})
    assert page.status_code == 200, page.text
    assert 'id="btn-login"' in page.text and 'id="btn-logout"' not in page.text
    assert "attacker" not in page.text
    name = cookie.split("=", 1)[0]
    erased = [h for h in page.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert erased and all("1970" in h or "max-age=0" in h.lower() for h in erased), page.headers


def test_forged_cookies_read_as_logged_out_and_are_erased(step_app, apps, tenant, attacker_key):
    secret = tenant.settings_for(0).app_secret_key
    published_kid = tenant.tenant.keys.current.kid
    forgeries = [
        forged_id_token(attacker_key, tenant.issuer),  # signed by the attacker, no kid
        forged_id_token(attacker_key, tenant.issuer, kid=published_kid),  # claims the tenant's kid
        b64url(b'{"alg":"none"}')
        + "."
        + b64url(
            json.dumps({"iss": tenant.issuer, "aud": DEV_CLIENT_ID, "sub": "auth0|attacker", "exp": 2**31}).encode()
        )
        + ".",
        "not-a-jwt",
    ]
    for forged in forgeries:
        assert_read_as_logged_out(step_app, as_cookie(step_app, apps, forged, secret))
    if (
        cookies_of(step_app, apps).id_token is None
    ):  # the wrapper: a session signed with a key other than APP_SECRET_KEY
        assert_read_as_logged_out(step_app, as_cookie(step_app, apps, forgeries[0], "another-secret-key-" + "z" * 32))


def test_tampered_cookies_read_as_logged_out_and_are_erased(step_app, apps, http, tenant):
    name, value = real_session(http, step_app, apps)
    if cookies_of(step_app, apps).id_token:
        head, payload, signature = value.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["nickname"] = "attacker"
        assert_read_as_logged_out(step_app, f"{name}={head}.{b64url(json.dumps(claims).encode())}.{signature}")
    else:
        data = session_data(value)
        data["id_token"] = data["id_token"][:-4] + "AAAA"
        payload = base64.b64encode(json.dumps(data).encode()).decode()
        assert_read_as_logged_out(step_app, f"{name}={payload}.{value.split('.', 1)[1]}")
    flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    assert_read_as_logged_out(step_app, f"{name}={flipped}")


def test_truncated_cookies_read_as_logged_out_and_are_erased(step_app, apps, http, tenant):
    name, value = real_session(http, step_app, apps)
    for length in (len(value) - 1, len(value) // 2, 10):
        assert_read_as_logged_out(step_app, f"{name}={value[:length]}")


@pytest.mark.parametrize("size", [8 * 1024, 12 * 1024, 16 * 1024])
def test_oversized_cookie_headers_are_not_a_server_error(step_app, apps, tenant, size):
    cookies = cookies_of(step_app, apps)
    for name in (cookies.holder, cookies.signed, "other"):
        with httpx2.Client() as browser:
            page = browser.get(f"{step_app}/", headers={"cookie": f"{name}={'A' * size}"})
            assert page.status_code < 500, page.text
            if page.status_code == 200:
                assert 'id="btn-login"' in page.text
        with httpx2.Client() as browser:
            assert browser.get(f"{step_app}/").status_code == 200


# ---- the JWKS under a flood of unknown kids --------------------------------------------------


@pytest.mark.parametrize(
    "step", STEPS, ids=lambda step: step.split("/")[-1].removesuffix(".py") if "03" in step else step.split("/")[0]
)
def test_flood_of_tokens_with_random_kids_does_not_fetch_the_jwks_per_request(step, counting_tenant, attacker_key):
    with serve_app_warmed_up(step, counting_tenant) as app:
        after_start = counting_tenant.counter.jwks_fetches
        settings = counting_tenant.settings_for(0)
        apps = {step: app}
        with httpx2.Client() as browser:
            for _ in range(40):
                token = forged_id_token(attacker_key, counting_tenant.issuer, kid=secrets.token_urlsafe(8))
                page = browser.get(f"{app}/", headers={"cookie": as_cookie(app, apps, token, settings.app_secret_key)})
                assert page.status_code == 200, page.text
        assert counting_tenant.counter.jwks_fetches - after_start <= 1  # one re-fetch, then the cool-down
