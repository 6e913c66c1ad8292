"""Step 03's graders: Check Session, back-channel logout, and the wrapper variant's three Lockr
calls (Create Session and Logout share step 01's graders, in shared/exercise/graders.py)."""

from __future__ import annotations

import asyncio
import secrets
import time

from shared.exercise.driving import Run, foreign_key, logged_in_html, payload, sign
from shared.exercise.serving import expect
from shared.tokens import BACKCHANNEL_LOGOUT_EVENT

# ---- step 03 --------------------------------------------------------------------------------------


def grade_check_session(run: Run) -> None:
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
    elsewhere = sign({**claims, "aud": "another-app"}, key)
    run.plant_record(elsewhere)
    expect(
        not run.logged_in_with(elsewhere),
        "an id_token issued to another app logs in: verify it (tenant.verify_id_token checks aud)",
    )
    asyncio.run(run.records.end(run.module.session_key(id_token)))
    expect(
        not run.logged_in_with(id_token),
        "a token whose record is gone still logs in: look the record up (records.get) and return None without one",
    )
    too_old = sign({**claims, "iat": now, "exp": now + 7200}, key)
    run.plant_record(too_old, expires_at=now - 1)
    expect(
        not run.logged_in_with(too_old),
        "a session past its absolute timeout still logs in: end it when now >= record.expires_at",
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


def grade_backchannel(run: Run) -> None:
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
    sub = payload(id_token)["sub"]
    late = run.module.SessionRecord("late-" + secrets.token_hex(4), sid, sub, now, now, now + 60)
    expect(
        not asyncio.run(run.records.start(late)),
        "after a back-channel logout, a late callback for the same sid could still start a session: "
        "pass the token's sid (sid=claims.get('sid')) and remember it as ended "
        "(sid_ended_until=now + session_absolute_timeout)",
    )
    user = run.browser()
    user_token = run.log_in(user)
    by_user = {**claims, "jti": secrets.token_urlsafe(8), "sub": payload(user_token)["sub"]}
    del by_user["sid"]
    answer = run.browser().post(
        f"{run.url}/backchannel-logout",
        data={"logout_token": sign(by_user, run.tenant.keys.current, typ="logout+jwt")},
    )
    expect(
        answer.status_code == 200 and not run.logged_in_with(user_token),
        "a logout token naming only the user (sub, no sid) left their session open: end every "
        "session of the token's sub too (sub=claims.get('sub'))",
    )


# ---- step 03's wrapper variant: the three Lockr calls -------------------------------------------


def grade_store(run: Run) -> None:
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
        logged_in_html(answer.text) and run.shows_logged_in(browser),
        "after Log In and a reload you are not logged in: keep the id_token under 'id_token', "
        "where read_id_token looks for it",
    )


def grade_read(run: Run) -> None:
    stranger = run.browser().get(f"{run.url}/")
    expect(
        stranger.status_code == 200 and not logged_in_html(stranger.text),
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


def grade_erase(run: Run) -> None:
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
