"""Step 02 — Custom Login, over real HTTP against the dev tenant: the app's own form, sign-up, Google."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, Client
from tests.support.forms import Form, forms_in, password_form
from tests.support.pages import log_out
from tests.support.steps import session_data

STEP = "02-Custom-Login/app.py"
GOOD_PASSWORD = "Corr3ct-Horse!"


@pytest.fixture
def app(serve_step):
    with serve_step(STEP) as url:
        yield url


@pytest.fixture
def user(tenant) -> str:
    """A user of the test's own (never the shared demo user: these tests lock accounts out)."""
    email = f"user-{secrets.token_hex(6)}@example.com"
    tenant.tenant.create_user(email, GOOD_PASSWORD)
    yield email
    tenant.tenant.unblock_user(email)


def login_form(http: httpx2.Client, app: str) -> Form:
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    return password_form(page.text, f"{app}/")


def submit(http: httpx2.Client, app: str, path: str, email: str, password: str, **extra: str) -> httpx2.Response:
    """Fill in the form like a person and press the button that posts to `path` (/login or /signup)."""
    form = login_form(http, app)
    return http.post(f"{app}{path}", data={**form.fields, "email": email, "password": password, **extra})


def refused(http: httpx2.Client, app: str, path: str, email: str, password: str, **extra: str) -> httpx2.Response:
    """Submit the form with what the tenant (or the app) refuses: the app redirects back to the form
    (Post/Redirect/Get), whose next showing has the error. Returns that page."""
    answer = submit(http, app, path, email, password, **extra)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    assert "step02_id_token=" not in answer.headers.get("set-cookie", "")
    return http.get(f"{app}/")


def reload(http: httpx2.Client, page: httpx2.Response) -> httpx2.Response:
    """The browser's reload button: the request that produced `page`, sent again as it was."""
    return http.send(http.build_request(page.request.method, page.request.url, content=page.request.content))


def signed_cookie(http: httpx2.Client) -> dict:
    return session_data(http.cookies.get("step02_signed") or "")


def alert(page: httpx2.Response) -> str:
    start = page.text.index('id="error"')
    return page.text[start : page.text.index("</div>", start)]


def new_email() -> str:
    return f"new-{secrets.token_hex(6)}@example.com"


def test_logged_out_home_shows_the_form_with_three_buttons(app, http):
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    for button in ('id="btn-login"', 'id="btn-signup"', 'id="btn-google"'):
        assert button in page.text
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
    form = password_form(page.text, f"{app}/")
    assert form.method == "post" and form.action == f"{app}/login"
    assert form.fields["csrf_token"]
    assert 'id="btn-logout"' not in page.text


def test_good_login_stores_the_id_token_and_shows_the_nickname(app, http):
    response = submit(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("step02_id_token="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = http.get(f"{app}/")
    assert "Welcome demo" in page.text
    assert 'id="btn-logout"' in page.text
    assert 'id="btn-login"' not in page.text


def test_logout_shows_the_form_again(app, http):
    submit(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    response = log_out(http, app)
    assert response.status_code == 303
    http.cookies.delete("step02_id_token")
    assert 'id="btn-login"' in http.get(f"{app}/").text


def test_wrong_password_is_a_401_on_the_form_keeping_the_email(app, http, user):
    page = refused(http, app, "/login", user, "Not-the-Passw0rd")
    assert page.status_code == 401, page.text
    assert "Wrong email or password." in alert(page)
    assert password_form(page.text, f"{app}/").fields["email"] == user
    assert "Not-the-Passw0rd" not in page.text


def test_reloading_the_page_after_a_wrong_password_posts_nothing_again(app, http, user):
    """A reload after a failed try shows a clean form: it sends no password, so it cannot lock the account."""
    page = refused(http, app, "/login", user, "Not-the-Passw0rd")
    assert "Wrong email or password." in alert(page)
    for _ in range(10):  # ten failures would lock the account, were each reload another try
        page = reload(http, page)
        assert page.status_code == 200, page.text
        assert 'id="error"' not in page.text and "aria-invalid" not in page.text
        assert password_form(page.text, f"{app}/").fields["email"] == ""
    assert submit(http, app, "/login", user, GOOD_PASSWORD).status_code == 303


def test_the_error_waits_in_the_signed_cookie_without_the_password(app, http, user):
    secret = "Unique-S3cret-" + secrets.token_hex(4)
    answer = submit(http, app, "/signup", user, secret)  # the email is taken: a 409 on the form
    assert answer.status_code == 303, answer.text
    kept = signed_cookie(http)
    assert kept["form_error"]["email"] == user
    assert kept["form_error"]["error"]["status"] == 409
    assert secret not in str(kept) and secret not in http.cookies.get("step02_signed")
    page = http.get(f"{app}/")
    assert page.status_code == 409 and "already exists" in alert(page)
    assert "form_error" not in signed_cookie(http)  # shown once, then gone


def test_a_tenants_overlong_error_still_fits_the_signed_cookie(app, http, tenant):
    body = {"error": "something_odd", "error_description": "Long story. " * 600}
    tenant.tenant.faults.update(answers={"/oauth/token": {"status": 400, "body": body}})
    page = refused(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 400, page.text
    assert "The tenant refused: Long story. Long story." in alert(page)
    assert len(alert(page)) < 1000


def test_unknown_email_reads_the_same_as_a_wrong_password(app, http):
    page = refused(http, app, "/login", new_email(), "Whatever-123")
    assert page.status_code == 401, page.text
    assert "Wrong email or password." in alert(page)


def test_repeated_failures_lock_the_account_with_a_429(app, http, tenant, user):
    statuses = [refused(http, app, "/login", user, f"Wrong-{n}-Passw0rd").status_code for n in range(10)]
    assert statuses[:9] == [401] * 9 and statuses[9] == 429, statuses
    page = refused(http, app, "/login", user, GOOD_PASSWORD)
    assert page.status_code == 429, page.text
    # The dev tenant sends no email: its message names the command that lifts the block.
    assert f"uv run python -m shared.dev_tenant --unblock {user}" in alert(page), alert(page)
    assert "sent you an email" not in alert(page) and "instructions in the email" not in alert(page)
    tenant.tenant.unblock_user(user)
    assert submit(http, app, "/login", user, GOOD_PASSWORD).status_code == 303


def test_sign_up_creates_the_user_and_logs_them_in(app, http):
    email = new_email()
    response = submit(http, app, "/signup", email, GOOD_PASSWORD)
    assert response.status_code == 303, response.text
    assert "step02_id_token=" in response.headers.get("set-cookie", "")
    page = http.get(f"{app}/")
    assert f"Welcome {email.split('@')[0]}" in page.text
    assert 'id="btn-logout"' in page.text


def test_sign_up_with_an_existing_email_is_a_409_on_the_form(app, http, user):
    page = refused(http, app, "/signup", user, "An0ther-Passw0rd")
    assert page.status_code == 409, page.text
    assert "already exists" in alert(page)
    assert password_form(page.text, f"{app}/").fields["email"] == user


def test_weak_password_lists_the_policy_rules(app, http):
    page = refused(http, app, "/signup", new_email(), "weakling")
    assert page.status_code == 400, page.text
    text = alert(page)
    assert "too weak" in text
    assert "At least 8 characters in length" in text
    assert "Contain at least 3 of the following 4 types of characters" in text
    assert "upper case letters (A-Z)" in text
    assert "weakling" not in page.text


def test_log_in_with_google_goes_to_authorize_with_the_google_connection(app, http, tenant):
    response = http.get(f"{app}/login/google")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}/" == tenant.issuer and location.path == "/authorize"
    query = parse_qs(location.query)
    assert query["connection"] == ["google-oauth2"]
    assert query["redirect_uri"] == [f"{app}/callback"]
    assert query["code_challenge_method"] == ["S256"]


def test_google_flow_comes_back_logged_in(app, http):
    chooser = http.get(f"{app}/login/google", follow_redirects=True)
    assert chooser.status_code == 200, chooser.text
    demo_account = next(f for f in forms_in(chooser.text, str(chooser.url)) if f.fields.get("account") == "demo")
    page = http.post(demo_account.action, data=demo_account.fields, follow_redirects=True)
    assert page.status_code == 200, page.text
    assert str(page.url) == f"{app}/"
    assert 'id="btn-logout"' in page.text
    assert "demo.google@example.com" in page.text


def test_post_without_a_csrf_token_is_refused(app, http):
    login_form(http, app)  # the browser has a session, but the post does not carry its token
    for path in ("/login", "/signup"):
        page = http.post(f"{app}{path}", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert page.status_code == 403, page.text
        assert "security token" in page.text
        assert "step02_id_token=" not in page.headers.get("set-cookie", "")


def test_post_with_a_wrong_or_foreign_csrf_token_is_refused(app, http):
    with httpx2.Client() as other_browser:
        foreign = login_form(other_browser, app).fields["csrf_token"]
    login_form(http, app)
    for token in ("forged", foreign):
        page = http.post(f"{app}/login", data={"csrf_token": token, "email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert page.status_code == 403, page.text


def test_post_with_no_session_at_all_is_refused(app, http):
    page = http.post(f"{app}/login", data={"csrf_token": "", "email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert page.status_code == 403, page.text


def test_missing_fields_are_a_400_on_the_form(app, http):
    for email, password in (("", "Some-Passw0rd"), (DEMO_EMAIL, "")):
        page = refused(http, app, "/login", email, password)
        assert page.status_code == 400, page.text
        assert "Enter your email address and a password." in alert(page)


def test_over_long_fields_are_refused_before_the_tenant_is_called(app, http, tenant, user):
    # Eleven over-long passwords would lock the account if they reached the tenant (it locks after ten).
    for _ in range(11):
        page = refused(http, app, "/login", user, "A1-" + "x" * 200)
        assert page.status_code == 400, page.text
        assert "at most 128" in alert(page)
    long_email = "a" * 250 + "@example.com"
    page = refused(http, app, "/signup", long_email, GOOD_PASSWORD)
    assert page.status_code == 400, page.text
    assert submit(http, app, "/login", user, GOOD_PASSWORD).status_code == 303


def test_an_oversized_body_is_a_400_page(app, http, user):
    form = login_form(http, app)
    for _ in range(11):
        page = http.post(f"{app}/login", data={**form.fields, "email": user, "password": "p", "padding": "x" * 5000})
        assert page.status_code == 400, page.text
        assert "more than 4096 bytes" in page.text
    assert submit(http, app, "/login", user, GOOD_PASSWORD).status_code == 303


def test_the_password_is_never_echoed_back_or_logged(app, http, user, caplog):
    caplog.set_level(logging.DEBUG)  # even httpx's and httpcore's debug logs of the tenant calls
    secret = "Unique-S3cret-" + secrets.token_hex(4)
    tries = [
        lambda: submit(http, app, "/login", user, secret),
        lambda: submit(http, app, "/signup", user, secret),
        lambda: submit(http, app, "/signup", new_email(), "ab" + secrets.token_hex(2)),  # too short
        lambda: submit(http, app, "/login", "", secret),
    ]
    responses = []
    for attempt in tries:
        responses += [answer := attempt(), http.get(f"{app}/")]  # the redirect, then the form's error
        assert answer.status_code == 303 and responses[-1].status_code >= 400, responses[-1].text
    responses.append(http.post(f"{app}/login", data={"email": user, "password": secret}))  # no CSRF token
    assert responses[-1].status_code == 403
    for response in responses:
        assert secret not in response.text
        assert secret not in str(response.headers)
        assert secret not in str(session_data(response.cookies.get("step02_signed") or ""))
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    assert secret not in caplog.text


def test_tenant_down_is_a_503_page_naming_it(serve_step, tenant, http):
    dead = replace(tenant, issuer="http://localhost:9/")
    with serve_step(STEP, on=dead) as app:
        page = submit(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
        assert page.status_code == 503, page.text
        assert "http://localhost:9/" in page.text
        signup = submit(http, app, "/signup", new_email(), GOOD_PASSWORD)
        assert signup.status_code == 503, signup.text


def test_password_grant_not_enabled_says_which_setting_to_change(serve_step, tenant, http):
    client_id, client_secret = f"no-password-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    tenant.tenant.register_client(
        Client(
            client_id,
            client_secret,
            callback_urls=["http://localhost:*/callback"],
            logout_urls=[],
            grant_types=["authorization_code"],
        )
    )
    with serve_step(STEP, client_id=client_id, client_secret=client_secret) as app:
        page = refused(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 502, page.text
    text = alert(page)
    assert "not allowed to log in with a password" in text
    assert "Advanced Settings" in text and "Grant Types" in text and "Password" in text


def test_a_connection_the_tenant_does_not_have_is_explained(serve_step, http):
    with serve_step(STEP, connection="No-Such-Connection") as app:
        page = refused(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 502, page.text
    assert "AUTH0_CONNECTION" in alert(page)


def test_a_token_the_verifier_refuses_is_not_stored(app, http, tenant):
    tenant.tenant.faults.update(id_token_claims={"aud": "someone-elses-client"})
    page = submit(http, app, "/login", DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 401, page.text
    assert "Login refused" in page.text
    assert "step02_id_token=" not in page.headers.get("set-cookie", "")


def test_get_on_the_forms_targets_shows_the_form(app, http):
    """After a form error the address bar says /login (or /signup): Enter there shows the form again."""
    for path in ("/login", "/signup"):
        page = http.get(f"{app}{path}", follow_redirects=True)
        assert page.status_code == 200, page.text
        assert str(page.url) == f"{app}/" and 'id="btn-login"' in page.text


def test_other_methods_on_the_forms_targets_are_a_405_page(app, http):
    page = http.put(f"{app}/login")
    assert page.status_code == 405
    assert "Method not allowed" in page.text and "POST" in page.headers["allow"]
