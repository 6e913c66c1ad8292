"""The lesson's behaviour checks, one function per move, each failing with the first expectation
the copy does not meet, in a learner's words. They drive the app over HTTP (shared/exercise/grading.py)."""

from __future__ import annotations

import asyncio
import secrets
import time

from shared.exercise.grading import (
    BACKCHANNEL_LOGOUT_EVENT,
    Check,
    Run,
    expect,
    foreign_key,
    payload,
    query,
    sign,
)

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


def check_login_redirect(run: Run) -> None:
    login_redirects_to_authorize(run)
    answer, _ = run.hosted_login(run.browser())
    expect(logged_in_text(answer.text), "after Log In and the tenant's page, you are not logged in")


def logged_in_text(html: str) -> bool:
    return 'id="btn-logout"' in html


def check_callback(run: Run, *, record: bool = False) -> None:
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


def check_logout(run: Run, *, copy_stops: bool = False, tenant_logout: bool = False) -> None:
    browser = run.browser()
    id_token = run.log_in(browser)
    refused = run.post(browser, "/logout", {"csrf_token": "not-this-browsers"})
    expect(
        refused.status_code == 403 and run.shows_logged_in(browser),
        "Log Out without this browser's CSRF token should be refused (403) and log nobody out: "
        "leave /logout under the factory's CSRF check (shared/csrf.py)",
    )
    answer = run.post(browser, "/logout", {"csrf_token": run.csrf(browser)})
    expect(
        answer.status_code in (302, 303),
        f"Log Out should redirect once it is done (it answered {answer.status_code})",
    )
    expect(run.id_token(browser) is None, "after Log Out the cookie still holds the id_token: erase it")
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


# ---- step 02 ---------------------------------------------------------------------------------


def check_password_login(run: Run) -> None:
    from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD

    browser = run.browser()
    token = run.csrf(browser, "/")
    answer = run.post(browser, "/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    expect(
        answer.status_code == 403,
        "a Log In post without the form's CSRF token should be refused: "
        "leave /login under the factory's CSRF check (shared/csrf.py)",
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


def check_signup(run: Run) -> None:
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


def check_start_session(run: Run) -> None:
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


def check_google(run: Run) -> None:
    login_redirects_to_authorize(run, "/login/google", connection="google-oauth2")


# ---- step 03 ---------------------------------------------------------------------------------


def check_check_session(run: Run) -> None:
    browser = run.browser()
    id_token = run.log_in(browser)
    expect(run.shows_logged_in(browser), "a valid session should stay logged in on the next page")
    claims = payload(id_token)
    key = run.tenant.keys.current
    forged = sign({**claims, "name": "Mallory"}, foreign_key(key))
    run.plant_record(forged)
    expect(
        not run.logged_in_with(forged),
        "a token with a forged signature logs in: verify the id_token "
        "(tenant.verify_id_token) before looking at its record",
    )
    now = int(time.time())
    expired = sign({**claims, "iat": now - 7200, "exp": now - 3600}, key)
    run.plant_record(expired)
    expect(
        not run.logged_in_with(expired),
        "an expired id_token still logs in: verify it (tenant.verify_id_token checks exp)",
    )
    asyncio.run(run.records.end(run.module.session_key(id_token)))
    expect(
        not run.logged_in_with(id_token),
        "a token whose record is gone still logs in: look the record up (records.get) and return None without one",
    )
    idle = run.browser()
    idle_token = run.log_in(idle)
    later = run.settings.session_idle_timeout + 60
    clock = run.app.state.context.clock
    run.app.state.context.clock = lambda: clock() + later
    try:
        expect(
            not run.logged_in_with(idle_token),
            "a session unused for longer than the idle timeout still logs in: end it when "
            "now - record.last_used_at > session_idle_timeout",
        )
    finally:
        run.app.state.context.clock = clock


def check_backchannel(run: Run) -> None:
    victim = run.browser()
    id_token = run.log_in(victim)
    sid = payload(id_token).get("sid")
    expect(sid, "the tenant's id_token has no sid: the grader cannot run this check")
    now = int(time.time())
    claims = {
        "iss": run.grader.issuer,
        "aud": payload(id_token)["aud"],
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(8),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "sid": sid,
    }
    forged = sign(claims, foreign_key(run.tenant.keys.current), typ="logout+jwt")
    answer = run.browser().post(f"{run.url}/backchannel-logout", data={"logout_token": forged})
    expect(
        answer.status_code == 400 and run.logged_in_with(id_token),
        "a logout token with a forged signature was accepted: verify it "
        "(tenant.verify_logout_token) and answer 400 (refused)",
    )
    sent = asyncio.run(run.tenant.end_sso_session(str(sid)))
    expect(sent, "the tenant sent no logout token: the grader cannot run this check")
    expect(
        sent[0].status_code == 200,
        f"the tenant's logout token was answered {sent[0].status_code or sent[0].error}: "
        "a valid token should get a 200",
    )
    expect(
        not run.logged_in_with(id_token),
        "after the tenant's back-channel logout the session still logs in: end every record "
        "of the token's sid (records.end_by_logout_token)",
    )
    again = run.browser().post(f"{run.url}/backchannel-logout", data={"logout_token": sent[0].logout_token})
    expect(
        again.status_code == 400,
        "the same logout token was accepted twice: accept each jti once (end_by_logout_token "
        "returns False for a jti it has seen: refuse it)",
    )


# ---- step 03's wrapper variant: the three Lockr calls -------------------------------------------


def check_store(run: Run) -> None:
    browser = run.browser()
    answer, _ = run.hosted_login(browser)
    token = run.session(browser).get("id_token")
    expect(
        isinstance(token, str) and token.count(".") == 2,
        "after Log In, the signed session holds no id_token: Lockr.set is request.session['id_token'] = id_token",
    )
    assert isinstance(token, str)
    expect(
        payload(token).get("iss") == run.grader.issuer,
        "request.session['id_token'] holds something else than the id_token the tenant sent",
    )
    expect(
        logged_in_text(answer.text) and run.shows_logged_in(browser),
        "after Log In and a reload you are not logged in: keep the id_token under 'id_token', "
        "where read_id_token looks for it",
    )


def check_read(run: Run) -> None:
    stranger = run.browser().get(f"{run.url}/")
    expect(
        stranger.status_code == 200 and not logged_in_text(stranger.text),
        "a visitor with no session gets an error page: read_id_token should return None then "
        f"(request.session.get('id_token'); it answered {stranger.status_code})",
    )
    browser = run.browser()
    run.hosted_login(browser)
    expect(run.session(browser).get("id_token"), "logging in failed before this move ran")
    expect(
        run.shows_logged_in(browser),
        "after Log In the next page shows you logged out: Lockr.get is request.session.get('id_token')",
    )


def check_erase(run: Run) -> None:
    browser = run.browser()
    id_token = run.log_in(browser)
    browser.get(f"{run.url}/login")  # a new login in progress, kept in the same signed session
    asyncio.run(run.records.end(run.module.cookie_app.session_key(id_token)))  # ended elsewhere
    expect(not run.shows_logged_in(browser), "a session whose record has ended still logs in")
    kept = run.session(browser)
    expect(
        "id_token" not in kept,
        "a session Check Session refused still holds its id_token: Lockr.rm is request.session.pop('id_token', None)",
    )
    expect(
        "login" in kept,
        "erasing the id_token dropped the rest of the session (the login in progress): pop only 'id_token'",
    )


CHECKS: dict[str, dict[str, Check]] = {
    "01-Login": {
        "login": check_login_redirect,
        "callback": check_callback,
        "logout": check_logout,
    },
    "02-Custom-Login": {
        "login": check_password_login,
        "signup": check_signup,
        "start_session": check_start_session,
        "login_with_google": check_google,
    },
    "03-Session-Handling": {
        "callback": lambda run: check_callback(run, record=True),
        "check_session": check_check_session,
        "logout": lambda run: check_logout(run, copy_stops=True, tenant_logout=True),
        "backchannel_logout": check_backchannel,
        "store_id_token": check_store,
        "read_id_token": check_read,
        "erase_id_token": check_erase,
    },
}
