"""The lesson's behaviour tests, one function per move, each failing with the first expectation the
copy does not meet, in a learner's words. They drive the app over HTTP (shared/exercise/driving.py);
step 03's are in graders_03.py. What a move must do and no grader here can see is listed under
"Not graded" in docs/teaching.md."""

from __future__ import annotations

import secrets
import time

from shared.exercise.driving import MoveGrader, Run, payload, query
from shared.exercise.graders_03 import (
    grade_backchannel,
    grade_check_session,
    grade_erase,
    grade_read,
    grade_store,
)
from shared.exercise.serving import expect

# ---- shared by the steps -------------------------------------------------------------------


def login_redirects_to_authorize(run: Run, path: str = "/login", **more: str) -> dict[str, str]:
    browser = run.browser()
    answer = browser.get(f"{run.url}{path}")
    where = answer.headers.get("location", "")
    expect(
        answer.status_code in (302, 303) and where.startswith(f"{run.grader.issuer}authorize"),
        f"{path} should redirect to the tenant's /authorize (it answered {answer.status_code})",
    )
    sent = query(where)
    for name in ("state", "nonce", "code_challenge"):
        expect(sent.get(name), f"the /authorize URL has no {name}: let Authlib make it")
    expect(
        sent.get("code_challenge_method") == "S256",
        "the /authorize URL should ask for PKCE with code_challenge_method=S256",
    )
    expect(
        sent.get("redirect_uri") == run.settings.redirect_uri,
        "the /authorize URL should send the app's callback URL as redirect_uri",
    )
    for name, value in more.items():
        expect(sent.get(name) == value, f"the /authorize URL should carry {name}={value}")
    again = query(run.browser().get(f"{run.url}{path}").headers.get("location", ""))
    expect(again.get("state") != sent["state"], "every login needs a new state")
    saved = run.session(browser).get("login")
    expect(
        isinstance(saved, dict) and {"state", "nonce", "code_verifier"} <= saved.keys(),
        "keep state, nonce and code_verifier in request.session['login'] for the callback",
    )
    return sent


def grade_login_redirect(run: Run) -> None:
    login_redirects_to_authorize(run)
    answer, _ = run.hosted_login(run.browser())
    expect(logged_in_text(answer.text), "after Log In and the tenant's page, you are not logged in")


def logged_in_text(html: str) -> bool:
    return 'id="btn-logout"' in html


def grade_callback(run: Run, *, record: bool = False) -> None:
    browser = run.browser()
    answer, callback = run.hosted_login(browser)
    expect(
        logged_in_text(answer.text),
        f"after the tenant sends you back to /callback, the page should show you logged in "
        f"(it answered {answer.status_code})",
    )
    id_token = run.id_token(browser)
    expect(id_token, "after the callback, no id_token is stored: store it (store_id_token)")
    assert id_token is not None
    if record:
        expect(
            run.record_of(id_token) is not None,
            "after the callback there is no record of the session: start one (records.start)",
        )
        started = run.record_of(id_token)
        longest = min(time.time() + run.settings.session_absolute_timeout, payload(id_token)["exp"])
        expect(
            started.expires_at <= longest + 60,
            "the session's record outlives the absolute timeout or the id_token's exp: "
            "expires_at = min(now + session_absolute_timeout, claims['exp'])",
        )
    if run.id_token_cookie:
        httponly, samesite = run.cookie_flags(browser, run.id_token_cookie)
        expect(
            httponly and samesite == "lax",
            "the id_token's cookie should be HttpOnly (no page script can read it) and "
            "SameSite=lax: store it with store_id_token",
        )
    replay = browser.get(callback)
    expect(
        400 <= replay.status_code < 500,
        "opening the same callback link twice should be refused: pop the login in progress and "
        f"compare its state (it answered {replay.status_code})",
    )
    forged = run.browser().get(f"{run.url}/callback?code=made-up&state=made-up")
    expect(
        400 <= forged.status_code < 500,
        "a callback with a state this browser never sent should be refused with a 400 page "
        f"(it answered {forged.status_code})",
    )
    started = run.browser()
    started.get(f"{run.url}/login")  # a login in progress, and a callback with another state
    injected = started.get(f"{run.url}/callback?state=not-this-login&error=access_denied&error_description=Injected")
    expect(
        injected.status_code == 400 and "Injected" not in injected.text,
        "a callback whose state is not this login's was read as this login's answer: compare "
        "the state with login['state'] (hmac.compare_digest) before reading anything else",
    )
    twice = run.browser()
    _, link = run.hosted_login(twice, stop_at="/callback")
    expect(link, "the tenant's login page did not send you back to /callback")
    twice.get(f"{link}&error=access_denied")  # the same state, refused once …
    second = twice.get(link)  # … then the genuine link
    expect(
        400 <= second.status_code < 500 and not run.shows_logged_in(twice),
        "a callback link still works after its login was used once: take the login in progress "
        "out of the session (request.session.pop('login', None)), not .get, so each link works once",
    )
    planted = run.browser()
    planted.get(f"{run.url}/login")
    run.set_session(planted, {**run.session(planted), "planted": "by an attacker"})
    answer, _ = run.hosted_login(planted)
    expect(logged_in_text(answer.text), "a login that started from a planted cookie did not finish")
    expect(
        "planted" not in run.session(planted),
        "a value planted in the signed cookie before the login survives it: clear the session "
        "(request.session.clear()) before storing the new login",
    )
    # A token that is not verified here is refused by the next Check Session anyway: what shows
    # the mistake is the callback's own answer, a redirect home instead of an error page.
    run.faults.update(signing="bad_signature")
    answer, _ = run.hosted_login(run.browser())
    expect(
        400 <= answer.status_code < 500 and not logged_in_text(answer.text),
        "an id_token with a bad signature is stored: verify it (tenant.verify_id_token) before storing it",
    )
    run.faults.update(signing="rs256", id_token_claims={"nonce": "another-login"})
    answer, _ = run.hosted_login(run.browser())
    expect(
        400 <= answer.status_code < 500 and not logged_in_text(answer.text),
        "an id_token with another login's nonce is stored: verify it with nonce=login['nonce']",
    )
    run.faults.reset()


def grade_logout(run: Run, *, copy_stops: bool = False, tenant_logout: bool = False) -> None:
    browser = run.browser()
    id_token = run.log_in(browser)
    refused = run.post(browser, "/logout", {"csrf_token": "not-this-browsers"})
    expect(
        refused.status_code == 403 and run.shows_logged_in(browser),
        "Log Out without this browser's CSRF token should be refused (403) and log nobody out: "
        "leave /logout under the factory's CSRF check (shared/middleware/csrf.py)",
    )
    token = run.csrf(browser)
    run.set_session(browser, {**run.session(browser), "planted": "before Log Out"})
    answer = run.post(browser, "/logout", {"csrf_token": token})
    expect(
        answer.status_code in (302, 303),
        f"Log Out should redirect once it is done (it answered {answer.status_code})",
    )
    expect(run.id_token(browser) is None, "after Log Out the cookie still holds the id_token: erase it")
    expect(
        "planted" not in run.session(browser),
        "after Log Out the signed cookie still holds what the session held: clear it "
        "(request.session.clear()) so the next person on this browser starts afresh",
    )
    expect(not run.shows_logged_in(browser), "after Log Out the page still shows you logged in")
    if copy_stops:
        expect(
            not run.logged_in_with(id_token),
            "after Log Out, a copy of the cookie still logs in: end the session record "
            "(records.end) before erasing the cookie",
        )
    if tenant_logout:
        where = answer.headers.get("location", "")
        expect(
            where.startswith(run.grader.issuer),
            "Log Out should end the tenant's session too: redirect to tenant.logout_url(...), "
            "or the next Log In signs you straight back in",
        )
        expect(
            query(where).get("logout_hint") == payload(id_token).get("sid"),
            "Log Out should name the tenant session it ends: tenant.logout_url(..., sid=sid), "
            "the sid of the claims (request.user)",
        )


# ---- step 02 ---------------------------------------------------------------------------------


def grade_password_login(run: Run) -> None:
    from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD

    browser = run.browser()
    token = run.csrf(browser, "/")
    answer = run.post(browser, "/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    expect(
        answer.status_code == 403,
        "a Log In post without the form's CSRF token should be refused: "
        "leave /login under the factory's CSRF check (shared/middleware/csrf.py)",
    )
    fields = {"csrf_token": token, "email": DEMO_EMAIL, "password": "not-the-password"}
    wrong = run.post(browser, "/login", fields)
    expect(
        wrong.status_code == 303 and wrong.headers.get("location") == "/",
        "a wrong password should send the browser back to the form (back_to_the_form), so that a "
        f"reload does not post the password again (it answered {wrong.status_code})",
    )
    form = run.page(browser)
    expect(
        400 <= form.status_code < 500 and "Wrong email or password" in form.text,
        "a wrong password should show the form again with the tenant's error "
        f"(back_to_the_form with the AuthApiError; the form answered {form.status_code})",
    )
    expect(not run.shows_logged_in(browser), "a wrong password logged you in")
    right = run.post(browser, "/login", {**fields, "password": DEMO_PASSWORD})
    expect(
        right.status_code in (302, 303) and run.shows_logged_in(browser),
        "the demo user's email and password should log in: trade them with login_with_password, "
        f"then start_session (it answered {right.status_code})",
    )


def grade_signup(run: Run) -> None:
    from shared.dev_tenant import DEMO_EMAIL

    email = f"learner-{secrets.token_hex(4)}@example.com"
    browser = run.browser()
    token = run.csrf(browser, "/")
    fields = {"csrf_token": token, "email": email, "password": "Correct-Horse-7-Battery"}
    answer = run.post(browser, "/signup", fields)
    expect(
        answer.status_code in (302, 303) and run.shows_logged_in(browser),
        "Sign Up with a new email should create the user (sign_up) and log them in "
        f"(login_with_password, then start_session; it answered {answer.status_code})",
    )
    other = run.browser()
    fields = {**fields, "csrf_token": run.csrf(other, "/"), "email": DEMO_EMAIL}
    taken = run.post(other, "/signup", fields)
    form = run.page(other)
    expect(
        taken.status_code == 303 and 400 <= form.status_code < 500 and "already exists" in form.text,
        "Sign Up with an email that already has a user should show the form with the error "
        f"(back_to_the_form; it answered {taken.status_code}, then the form {form.status_code})",
    )


def grade_start_session(run: Run) -> None:
    from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD

    browser = run.browser()
    token = run.csrf(browser, "/")
    run.set_session(browser, {**run.session(browser), "planted": "by an attacker"})
    fields = {"csrf_token": token, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    answer = run.post(browser, "/login", fields)
    expect(
        answer.status_code in (302, 303) and run.shows_logged_in(browser),
        "after a right password you are not logged in: store the id_token (store_id_token) on a redirect to /",
    )
    expect(
        "planted" not in run.session(browser),
        "a value planted in the signed cookie before the login survives it: clear the session "
        "(request.session.clear()) before storing the new login",
    )
    run.faults.update(signing="bad_signature")
    other = run.browser()
    fields = {**fields, "csrf_token": run.csrf(other, "/")}
    refused = run.post(other, "/login", fields)
    expect(
        400 <= refused.status_code < 500 and run.id_token(other) is None,
        "an id_token with a bad signature is stored: verify it (tenant.verify_id_token) before storing it",
    )
    run.faults.reset()


def grade_google(run: Run) -> None:
    login_redirects_to_authorize(run, "/login/google", connection="google-oauth2")


GRADERS: dict[str, dict[str, MoveGrader]] = {
    "01-Login": {
        "login": grade_login_redirect,
        "callback": grade_callback,
        "logout": grade_logout,
    },
    "02-Custom-Login": {
        "login": grade_password_login,
        "signup": grade_signup,
        "start_session": grade_start_session,
        "login_with_google": grade_google,
    },
    "03-Session-Handling": {
        "callback": lambda run: grade_callback(run, record=True),
        "check_session": grade_check_session,
        "logout": lambda run: grade_logout(run, copy_stops=True, tenant_logout=True),
        "backchannel_logout": grade_backchannel,
        "store_id_token": grade_store,
        "read_id_token": grade_read,
        "erase_id_token": grade_erase,
    },
}
