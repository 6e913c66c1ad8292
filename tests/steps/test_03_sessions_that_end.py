"""Step 03 ends sessions for real: logout revokes the server's record, idle and absolute timeouts end
it, the tenant ends it by back-channel logout, and a store that cannot be asked is a 503 — in both
variants, with SQLite and with a real Redis shared by two instances."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.context import context
from shared.dev_tenant import DEV_CLIENT_ID
from shared.tokens import BACKCHANNEL_LOGOUT_EVENT
from tests.conftest import RunningTenant
from tests.support.pages import log_in_as_demo, log_out, shows_logged_in
from tests.support.servers import free_port, serve
from tests.support.steps import COOKIES, StepCookies, load_step

VARIANTS = ["03-Session-Handling/cookie_app.py", "03-Session-Handling/wrapper_app.py"]
IDLE, ABSOLUTE = 30 * 60, 8 * 60 * 60  # the defaults


class Clock:
    """The apps' clock, moved forward by the test instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class RunningStep:
    url: str
    app: Any
    cookies: StepCookies
    clock: Clock

    @property
    def records(self) -> Any:
        """The step's server-side session records (records.py), on its context (cookie_app.py)."""
        return context(self.app).records


@pytest.fixture(params=VARIANTS, ids=["cookie", "wrapper"])
def variant(request) -> str:
    return request.param


@pytest.fixture
def start(tenant: RunningTenant):
    """start(variant, **settings) serves one instance of a step-03 variant with a clock the test moves."""

    @contextlib.contextmanager
    def _start(path: str, on: RunningTenant | None = None, **overrides: Any) -> Iterator[RunningStep]:
        port = free_port()
        settings = (on or tenant).settings_for(port, **overrides)
        app = load_step(path).create_app(settings)
        clock = context(app).clock = Clock()
        with serve(app, port):
            yield RunningStep(settings.base_url, app, COOKIES[path], clock)

    return _start


def log_in(http: httpx2.Client, step: RunningStep) -> str:
    """Log in as the demo user; return the Cookie header a thief copying the session would take."""
    log_in_as_demo(http, step.url)
    name = step.cookies.holder
    return f"{name}={http.cookies[name]}"


def logged_in(step: RunningStep, cookie: str) -> bool:
    page = httpx2.get(f"{step.url}/", headers={"cookie": cookie})
    assert page.status_code == 200, page.text
    return shows_logged_in(page.text)


def test_a_copy_of_the_cookie_taken_before_logout_no_longer_logs_in(start, variant, http):
    with start(variant) as step:
        stolen = log_in(http, step)  # what a thief, or the browser's history, keeps
        log_out(http, step.url)  # Log Out: the record is deleted, the cookie erased
        assert not logged_in(step, stolen)  # the copy reads as logged out


def test_replay_after_logout_fails_on_another_instance_sharing_the_sqlite_store(start, variant, http, tmp_path):
    with start(variant) as first, start(variant) as second:
        stolen = log_in(http, first)
        assert logged_in(second, stolen)  # one store: both instances know the session
        log_out(http, first.url)
        assert not logged_in(second, stolen)


def test_replay_after_logout_fails_on_another_instance_sharing_one_redis(start, variant, http, redis_url):
    with start(variant, session_store_url=redis_url) as first, start(variant, session_store_url=redis_url) as second:
        assert "Redis at 127.0.0.1" in httpx2.get(f"{first.url}/").text
        stolen = log_in(http, first)
        assert logged_in(second, stolen)
        log_out(http, first.url)
        assert not logged_in(second, stolen)
        assert not logged_in(first, stolen)


def test_the_logout_url_carries_no_live_session_credential(start, variant, http):
    with start(variant) as step:
        stolen = log_in(http, step)
        to_tenant = log_out(http, step.url).headers["location"]
        # Whatever the URL carries (the id_token as id_token_hint), the session it belonged to has ended.
        assert not logged_in(step, stolen), to_tenant


def test_a_session_idle_longer_than_the_idle_timeout_ends(start, variant, http):
    with start(variant) as step:
        cookie = log_in(http, step)
        step.clock.offset = IDLE - 120
        assert logged_in(step, cookie)  # used again just in time: the idle clock starts over
        step.clock.offset += IDLE - 120
        assert logged_in(step, cookie)
        step.clock.offset += IDLE + 1
        page = httpx2.get(f"{step.url}/", headers={"cookie": cookie})
        assert 'id="btn-login"' in page.text, page.text
        assert "Your session ended: no request for more than 30 min 0 s." in page.text
        assert any(h.startswith(f"{step.cookies.holder}=") for h in page.headers.get_list("set-cookie"))
        step.clock.offset = 0  # back in time, the record stays gone
        assert not logged_in(step, cookie)


def test_a_session_ends_at_the_absolute_timeout_however_busy(start, variant, http):
    with start(variant, session_absolute_timeout=3600) as step:
        cookie = log_in(http, step)
        for minutes in range(20, 60, 20):
            step.clock.offset = minutes * 60
            assert logged_in(step, cookie), minutes
        step.clock.offset = 3600 + 1
        page = httpx2.get(f"{step.url}/", headers={"cookie": cookie})
        assert "Your session ended: it reached its longest allowed time." in page.text, page.text
        assert not logged_in(step, cookie)


def test_timeouts_come_from_the_environment(start, variant, http):
    with start(variant, session_idle_timeout=60) as step:
        cookie = log_in(http, step)
        step.clock.offset = 61
        assert not logged_in(step, cookie)


def test_a_busy_session_records_its_last_use_at_most_once_a_minute(start, variant, http):
    with start(variant) as step:
        cookie = log_in(http, step)
        store = step.records
        touches: list[float] = []
        real_touch = store.touch

        async def counting_touch(record, now):
            touches.append(now)
            await real_touch(record, now)

        store.touch = counting_touch
        for seconds in range(0, 60, 6):
            step.clock.offset = seconds
            assert logged_in(step, cookie)
        assert touches == []
        step.clock.offset = 61
        assert logged_in(step, cookie)
        assert len(touches) == 1


def test_the_panel_shows_the_session_identity_and_both_deadlines(start, variant, http):
    with start(variant) as step:
        log_in(http, step)
        page = http.get(f"{step.url}/")
        assert 'id="session-identity"><code>sid ' in page.text
        assert 'id="session-idle">in 30 min 0 s' in page.text or 'id="session-idle">in 29 min' in page.text
        assert 'id="session-expires">in 8 h 0 min' in page.text or 'id="session-expires">in 7 h 59 min' in page.text


# ---- Back-channel logout ------------------------------------------------------------------------


def logout_token(tenant: RunningTenant, key: RSAKey | None = None, header: dict | None = None, **claims: Any) -> str:
    key = key or tenant.tenant.keys.current
    now = int(time.time())
    body = {
        "iss": tenant.issuer,
        "aud": DEV_CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        **claims,
    }
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}, body, key)


def session_sid(http: httpx2.Client, step: RunningStep) -> str:
    page = http.get(f"{step.url}/")
    return page.text.split('id="session-identity"><code>sid ', 1)[1].split("<", 1)[0]


def post_logout_token(step: RunningStep, token: str) -> httpx2.Response:
    return httpx2.post(f"{step.url}/backchannel-logout", data={"logout_token": token})


def test_a_valid_logout_token_ends_the_session_with_that_sid(start, variant, http, tenant):
    with start(variant) as step:
        cookie = log_in(http, step)
        answer = post_logout_token(step, logout_token(tenant, sid=session_sid(http, step)))
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        page = http.get(f"{step.url}/")  # the browser's next page says why it is logged out
        assert "Your session ended: it was ended on the server" in page.text, page.text
        assert not logged_in(step, cookie)


def test_a_logout_token_with_only_sub_ends_every_session_of_the_user(start, variant, tenant):
    with start(variant) as step, httpx2.Client() as one, httpx2.Client() as two:
        first, second = log_in(one, step), log_in(two, step)
        sub = "auth0|" + one.get(f"{step.url}/").text.split("<code>auth0|", 1)[1].split("<", 1)[0]
        assert post_logout_token(step, logout_token(tenant, sub=sub)).status_code == 200
        assert not logged_in(step, first) and not logged_in(step, second)


@pytest.mark.parametrize(
    "forgery",
    [
        "foreign key",
        "alg none",
        "old",
        "wrong aud",
        "wrong iss",
        "no events",
        "with nonce",
        "no sid or sub",
        "id_token typ",
        "garbage",
        "empty",
    ],
)
def test_a_bad_logout_token_is_a_400_and_ends_nothing(start, variant, http, tenant, forgery):
    with start(variant) as step:
        cookie = log_in(http, step)
        sid = session_sid(http, step)
        attacker = RSAKey.generate_key(2048, parameters={"kid": tenant.tenant.keys.current.kid})
        tokens = {
            "foreign key": lambda: logout_token(tenant, key=attacker, sid=sid),
            "alg none": lambda: (
                logout_token(tenant, sid=sid).split(".")[0][:0]
                + "eyJhbGciOiJub25lIn0."
                + logout_token(tenant, sid=sid).split(".")[1]
                + "."
            ),
            "old": lambda: logout_token(tenant, sid=sid, iat=int(time.time()) - 3600),
            "wrong aud": lambda: logout_token(tenant, sid=sid, aud="another-app"),
            "wrong iss": lambda: logout_token(tenant, sid=sid, iss="https://attacker.example/"),
            "no events": lambda: logout_token(tenant, sid=sid, events=None),
            "with nonce": lambda: logout_token(tenant, sid=sid, nonce="n"),
            "no sid or sub": lambda: logout_token(tenant),
            "id_token typ": lambda: logout_token(
                tenant, header={"alg": "RS256", "kid": tenant.tenant.keys.current.kid, "typ": "JWT"}, sid=sid
            ),
            "garbage": lambda: "not-a-jwt",
            "empty": lambda: "",
        }
        answer = post_logout_token(step, tokens[forgery]())
        assert answer.status_code == 400, answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert answer.json()["error"] == "invalid_request"
        assert logged_in(step, cookie)


def test_a_replayed_logout_token_is_refused(start, variant, http, tenant):
    with start(variant) as step:
        log_in(http, step)
        token = logout_token(tenant, sid=session_sid(http, step))
        assert post_logout_token(step, token).status_code == 200
        again = post_logout_token(step, token)
        assert again.status_code == 400 and "already used" in again.text


# ---- The store unreachable ----------------------------------------------------------------------


def test_a_redis_that_does_not_answer_is_a_503_naming_it_never_a_session_accepted(start, variant, http, redis_url):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with start(variant, session_store_url=redis_url) as step:
        cookie = log_in(http, step)
    with start(variant, session_store_url=dead) as broken:
        page = httpx2.get(f"{broken.url}/", headers={"cookie": cookie})
        assert page.status_code == 503, page.text
        assert "session records" in page.text and "Redis at 127.0.0.1" in page.text
        assert 'id="btn-logout"' not in page.text
        assert httpx2.get(f"{broken.url}/").status_code == 200  # no session to check: pages still serve


def test_a_locked_sqlite_store_is_a_503_and_the_server_keeps_serving(start, variant, http, tenant):
    with start(variant) as step:
        cookie = log_in(http, step)
        store = step.records

        locker = sqlite3.connect(store.path, timeout=0, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        step.clock.offset = 61  # this request records its last use: a write, which must wait
        try:
            page = httpx2.get(f"{step.url}/", headers={"cookie": cookie})
            assert page.status_code == 503, page.text
            assert store.where in page.text
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert logged_in(step, cookie)  # nothing was lost


def test_settings_default_to_the_sqlite_store_in_the_state_folder(tenant):
    settings = replace(tenant.settings_for(3000))
    assert settings.session_store_url is None
    assert (settings.session_idle_timeout, settings.session_absolute_timeout) == (IDLE, ABSOLUTE)


# ---- Issue #20: a logout no one can escape -------------------------------------------------------


def test_an_active_session_outlives_a_short_idle_timeout(start, variant, http):
    """A request every 3 s under a 10 s idle timeout: "last used" is written often enough to keep it."""
    with start(variant, session_idle_timeout=10) as step:
        cookie = log_in(http, step)
        for seconds in range(3, 61, 3):
            step.clock.offset = seconds
            assert logged_in(step, cookie), f"ended as idle after {seconds} s of a request every 3 s"
        step.clock.offset += 11  # and idle for longer than the timeout: it ends
        assert not logged_in(step, cookie)


def test_the_idle_end_comes_on_time_with_the_default_timeout(start, variant, http):
    with start(variant) as step:
        cookie = log_in(http, step)
        step.clock.offset = IDLE - 100  # a request shortly before the end records its use ...
        assert logged_in(step, cookie)
        step.clock.offset += IDLE + 1  # ... and the end comes a whole timeout after it, not a minute late
        assert not logged_in(step, cookie)


def test_the_back_channel_answers_on_another_host_name(start, variant, http, tenant):
    """A provider that knows the app as 127.0.0.1 (or a container name) gets no redirect, and the logout lands."""
    with start(variant) as step:
        cookie = log_in(http, step)
        other_host = step.url.replace("localhost", "127.0.0.1")
        token = logout_token(tenant, sid=session_sid(http, step))
        answer = httpx2.post(f"{other_host}/backchannel-logout", data={"logout_token": token})
        assert answer.status_code == 200, answer.text
        assert not logged_in(step, cookie)
        assert httpx2.get(f"{other_host}/").status_code == 307  # pages still go to APP_BASE_URL


def test_a_logout_token_for_several_audiences_without_azp_is_refused(start, variant, http, tenant):
    with start(variant) as step:
        cookie = log_in(http, step)
        token = logout_token(tenant, sid=session_sid(http, step), aud=[DEV_CLIENT_ID, "another-client"])
        answer = post_logout_token(step, token)
        assert answer.status_code == 400, answer.text
        assert "logout token" in answer.json()["error_description"]
        assert logged_in(step, cookie)


def test_a_login_into_a_tenant_session_ended_by_a_logout_token_is_refused(start, variant, http, tenant):
    """For a provider that still answers from a tenant session it announced as ended: the app refuses
    to start a session of that sid (here the test's own logout token leaves the tenant session alive)."""
    with start(variant) as step:
        log_in(http, step)
        sid = session_sid(http, step)
        assert post_logout_token(step, logout_token(tenant, sid=sid)).status_code == 200
        again = http.get(f"{step.url}/login", follow_redirects=True)  # single sign-on: the same sid
        assert again.status_code == 401, again.text
        assert "tenant session that has already ended" in again.text
        assert not shows_logged_in(http.get(f"{step.url}/").text)
