"""Issue #13, hardening: caching, security headers, login CSRF by cookie tossing, fixation, the JWKS cooldown.

The browser halves (Back after Log Out; two steps side by side in one browser) are in tests/browser/.
"""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import urlsplit

import httpx2
import itsdangerous
import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.security.conftest import (
    ENTRY_POINTS,
    STEPS,
    counted_tenant,
    serve_app,
    serve_app_warmed_up,
    set_cookie_headers,
)
from tests.security.test_flow_attacks import as_cookie, attacker_key, callback_url, forged_id_token  # noqa: F401
from tests.support.forms import password_form
from tests.support.pages import log_out, shows_logged_in
from tests.support.steps import COOKIES, session_data

STEP_IDS = {STEPS[0]: "01", STEPS[1]: "02", STEPS[2]: "03-cookie", STEPS[3]: "03-wrapper"}
STEP_02 = "02-Custom-Login/app.py"


@pytest.fixture(params=STEPS, ids=STEP_IDS.get)
def step(request) -> str:
    return request.param


def logged_in(http: httpx2.Client, app: str) -> bool:
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    return shows_logged_in(page.text)


def login_start(step: str) -> str:
    """Where a redirect login starts: step 02's /login takes its form; its Google button redirects."""
    return "/login/google" if step == STEP_02 else "/login"


def every_kind_of_answer(http: httpx2.Client, app: str, step: str) -> list[httpx2.Response]:
    """A page logged out, logged in, a login redirect, a refused callback, a logout, a 404, a 405."""
    answers = [http.get(f"{app}/"), http.get(f"{app}{login_start(step)}"), http.get(f"{app}/callback?state=x&code=y")]
    http.get(callback_url(http, app, login_start(step)), follow_redirects=True)
    answers += [http.get(f"{app}/"), log_out(http, app), http.get(f"{app}/nowhere"), http.put(f"{app}/")]
    return answers


@pytest.fixture
def app(step, apps, tenant) -> str:
    return apps[step]


# ---- 1. nothing that depends on the session is cached ------------------------------------------


def test_every_dynamic_answer_says_no_store_and_static_files_may_be_cached(step, app, http):
    answers = every_kind_of_answer(http, app, step)
    assert any('id="btn-logout"' in answer.text for answer in answers)  # a logged-in page was among them
    for answer in answers:
        assert answer.headers.get("cache-control") == "no-store", f"{answer.request.url}: {answer.headers}"
    style = http.get(f"{app}/static/style.css")
    assert style.status_code == 200 and "no-store" not in style.headers.get("cache-control", "")


@pytest.mark.parametrize("step", STEPS[2:], ids=["03-cookie", "03-wrapper"])
def test_logout_returns_to_the_apps_url_exactly(app, http):
    """No `/?` that a browser would cache as another page than `/`: the tenant's redirect is the URL as registered."""
    http.get(callback_url(http, app), follow_redirects=True)
    to_tenant = log_out(http, app)
    back = http.get(to_tenant.headers["location"])
    assert back.status_code == 302, back.text
    assert back.headers["location"] == app, back.headers


# ---- 2. security headers on every page ----------------------------------------------------------


def test_every_answer_carries_the_security_headers(step, app, http, tenant):
    tenant_origin = tenant.issuer.rstrip("/")
    for answer in [*every_kind_of_answer(http, app, step), http.get(f"{app}/static/style.css")]:
        where = f"{answer.request.method} {answer.request.url}"
        csp = {d.split()[0]: d.split()[1:] for d in answer.headers["content-security-policy"].split("; ")}
        assert csp["default-src"] == ["'self'"], where
        assert csp["frame-ancestors"] == ["'none'"], where
        assert csp["form-action"] == ["'self'", tenant_origin], where
        assert "script-src" not in csp and "'unsafe-inline'" not in str(csp), where  # no script runs at all
        assert answer.headers["x-frame-options"] == "DENY", where
        assert answer.headers["x-content-type-options"] == "nosniff", where
        # Tokens travel in URLs (the logout's id_token_hint, the callback's code): none goes to another site.
        assert answer.headers["referrer-policy"] == "same-origin", where


# ---- 3. login CSRF by cookie tossing, and session fixation (step 02) ----------------------------


def attackers_session(app: str) -> tuple[str, dict[str, str]]:
    """What an attacker takes home from the app in their own browser: a signed session cookie and a form."""
    with httpx2.Client() as attacker:
        page = attacker.get(f"{app}/")
        form = password_form(page.text, f"{app}/")
        return attacker.cookies[COOKIES[STEP_02].signed], form.fields


@pytest.mark.parametrize("step", [STEP_02], ids=["02"])
@pytest.mark.parametrize(
    "sent_from",
    [
        {"origin": "http://localhost:1"},  # a page on another port of the same host: same site, another origin
        {"origin": "https://attacker.example"},
        {"origin": "null"},
        {"sec-fetch-site": "same-site"},  # no Origin, but the browser says where the post came from
        {"sec-fetch-site": "cross-site"},
    ],
    ids=["other-port", "other-site", "null-origin", "sec-fetch-same-site", "sec-fetch-cross-site"],
)
def test_login_csrf_by_cookie_tossing_is_refused(app, http, sent_from):
    """Another page plants the attacker's own signed session cookie and posts the attacker's credentials.

    The token and the cookie match (both are the attacker's), so only the origin tells this post apart.
    """
    planted, fields = attackers_session(app)
    http.cookies.set(COOKIES[STEP_02].signed, planted, domain=urlsplit(app).hostname)
    for path in ("/login", "/signup"):
        data = {**fields, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        answer = http.post(f"{app}{path}", data=data, headers=sent_from)
        assert answer.status_code == 403, answer.text
        assert "another web page" in answer.text
        assert not logged_in(http, app)


@pytest.mark.parametrize("step", [STEP_02], ids=["02"])
def test_a_post_from_the_apps_own_page_is_accepted(app, http):
    page = http.get(f"{app}/")
    form = password_form(page.text, f"{app}/")
    headers = {"origin": app, "sec-fetch-site": "same-origin"}
    answer = http.post(
        f"{app}/login", data={**form.fields, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}, headers=headers
    )
    assert answer.status_code == 303, answer.text
    assert logged_in(http, app)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.name)
def test_nothing_from_before_the_login_survives_into_the_logged_in_session(entry, apps, http, tenant):
    app = apps[entry.step]
    cookies = COOKIES[entry.step]
    secret = tenant.settings_for(0).app_secret_key
    planted = {"planted": "by whoever had this browser before", "csrf_token": "known-to-the-attacker"}
    payload = base64.b64encode(json.dumps(planted).encode())
    http.cookies.set(cookies.signed, itsdangerous.TimestampSigner(secret).sign(payload).decode())
    page = entry.log_in(http, app)
    assert 'id="btn-logout"' in page.text, page.text
    # What the login told the browser to keep in the session cookie: a deletion, or a new session.
    last = [h for h in set_cookie_headers(page) if h.startswith(f"{cookies.signed}=")][-1]
    after = session_data(last.split(";", 1)[0].split("=", 1)[1].strip('"'))
    assert "planted" not in after and after.get("csrf_token") != "known-to-the-attacker", after
    # Nothing but the wrapper's own id_token, and the Log Out button's new CSRF token.
    assert set(after) <= {"id_token", "csrf_token"}, after


@pytest.mark.parametrize("step", [STEP_02], ids=["02"])
def test_the_csrf_token_changes_at_login_and_at_logout(app, http):
    def token() -> str:
        return password_form(http.get(f"{app}/").text, f"{app}/").fields["csrf_token"]

    before = token()
    assert token() == before  # stable while nothing happens
    form = password_form(http.get(f"{app}/").text, f"{app}/")
    http.post(f"{app}/login", data={**form.fields, "email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert logged_in(http, app)
    log_out(http, app)
    after = token()
    assert after != before


# ---- 5. the JWKS cooldown cannot be spent against real logins -----------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.name)
def test_a_flood_of_random_kids_does_not_delay_a_real_login_after_a_key_rotation(
    entry,
    http,
    own_tenant,
    attacker_key,  # noqa: F811 (the fixture imported above)
):
    with serve_app_warmed_up(entry.step, own_tenant) as app:
        secret = own_tenant.settings_for(0).app_secret_key
        with httpx2.Client() as stranger:
            for _ in range(20):  # anonymous: spends the cooldown of cookie-borne tokens
                token = forged_id_token(attacker_key, own_tenant.issuer, kid=secrets.token_urlsafe(8))
                cookie = as_cookie(app, {entry.step: app}, token, secret)
                assert stranger.get(f"{app}/", headers={"cookie": cookie}).status_code == 200
        assert own_tenant.counter.jwks_fetches == 2  # start-up, then one re-fetch for the whole flood
        own_tenant.tenant.rotate_key()
        page = entry.log_in(http, app)  # a token signed with the new key, straight from the tenant
        assert 'id="btn-logout"' in page.text, page.text
        assert own_tenant.counter.jwks_fetches == 3
        assert logged_in(http, app)  # the stored token verifies too, without another fetch
        assert own_tenant.counter.jwks_fetches == 3


# ---- 6. small things: Allow on 405, a spent state after an outage, GET of the form's targets ----


def test_every_405_says_which_methods_are_allowed(app, http):
    for method, path in [("POST", "/"), ("PUT", "/logout"), ("DELETE", "/callback"), ("POST", "/static/style.css")]:
        answer = http.request(method, f"{app}{path}")
        assert answer.status_code == 405, answer.text
        assert "GET" in answer.headers.get("allow", ""), f"{method} {path}: {answer.headers}"


def test_a_tenant_outage_at_the_callback_says_start_again_from_log_in(step, http, tmp_path):
    """The callback spent the login's state before the tenant failed: reloading would be a 400."""
    running = counted_tenant(tmp_path / "tenant")
    tenant = running.__enter__()
    try:
        with serve_app(step, tenant) as app:
            url = callback_url(http, app, login_start(step))
            running.__exit__(None, None, None)  # the tenant goes down before the code is exchanged
            running = None
            page = http.get(url)
            assert page.status_code == 503, page.text
            assert "Start again from Log In" in page.text and "Try again" not in page.text
    finally:
        if running is not None:
            running.__exit__(None, None, None)


@pytest.mark.parametrize("step", [STEP_02], ids=["02"])
@pytest.mark.parametrize("path", ["/login", "/signup"])
def test_a_plain_get_of_the_forms_targets_goes_to_the_form(app, http, path):
    """After a form error the address bar shows /login: Enter there must show the form, not a bare 405."""
    answer = http.get(f"{app}{path}")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    assert set_cookie_headers(answer) == []


# ---- Issue #20: Log Out that a cross-site request cannot trigger -----------------------------


def test_a_cross_site_get_of_logout_logs_nobody_out(step, app, http):
    """An image or a link on another site, or another localhost port: GET /logout only shows the button."""
    http.get(callback_url(http, app, login_start(step)), follow_redirects=True)
    assert logged_in(http, app)
    page = http.get(f"{app}/logout", headers={"sec-fetch-site": "cross-site"})
    assert page.status_code == 200, page.text
    assert 'id="btn-logout"' in page.text and 'action="/logout"' in page.text
    assert logged_in(http, app)  # still logged in


def test_a_logout_post_from_another_origin_or_without_the_token_is_refused(step, app, http):
    http.get(callback_url(http, app, login_start(step)), follow_redirects=True)
    assert logged_in(http, app)
    token = http.get(f"{app}/logout").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    evil = http.post(f"{app}/logout", data={"csrf_token": token}, headers={"origin": "http://localhost:9"})
    assert evil.status_code == 403, evil.text
    missing = http.post(f"{app}/logout", data={}, headers={"origin": app})
    assert missing.status_code == 403, missing.text
    assert logged_in(http, app)  # still logged in
