"""The security suite's fixtures: every entry point that accepts a token, and how to log in through each.

Entry points (the table below): step 01's hosted login and /callback; step 02's own password form
(password-realm grant, no redirect) and its Google button (a redirect through /callback); step 03's
plain-cookie and wrapper-library variants. One app per step is served for a whole test module against
the session's dev tenant; tests that need the app to fetch the JWKS afresh start their own.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DevTenant
from tests.conftest import RunningTenant, hosted_login
from tests.support.forms import forms_in, password_form
from tests.support.servers import free_port, serve
from tests.support.steps import COOKIES, StepCookies, load_step, sets_a_session

STEPS = (
    "01-Login/app.py",
    "02-Custom-Login/app.py",
    "03-Session-Handling/cookie_app.py",
    "03-Session-Handling/wrapper_app.py",
)


# ---- how to log in through each entry point --------------------------------------------------


def log_in_hosted(http: httpx2.Client, app: str) -> httpx2.Response:
    """Log In → the tenant's hosted page → /callback, as a person would."""
    return hosted_login(http, app, DEMO_EMAIL, DEMO_PASSWORD)


def log_in_with_password_form(http: httpx2.Client, app: str) -> httpx2.Response:
    """Step 02's own form: the app posts the password to the tenant (password-realm grant)."""
    page = http.get(f"{app}/")
    assert page.status_code == 200, page.text
    form = password_form(page.text, f"{app}/")
    data = {**form.fields, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    return http.post(f"{app}/login", data=data, follow_redirects=True)


def log_in_with_google(http: httpx2.Client, app: str) -> httpx2.Response:
    """Step 02's Log In with Google: /authorize?connection=google-oauth2, the chooser, /callback."""
    chooser = http.get(f"{app}/login/google", follow_redirects=True)
    assert chooser.status_code == 200, chooser.text
    account = next(f for f in forms_in(chooser.text, str(chooser.url)) if f.fields.get("account") == "demo")
    return http.post(account.action, data=account.fields, follow_redirects=True)


@dataclass(frozen=True)
class EntryPoint:
    name: str
    step: str  # the app file, relative to the repository root
    log_in: Callable[[httpx2.Client, str], httpx2.Response]  # follows redirects; the app's last answer
    redirect_flow: bool  # True: state, nonce and a code come back through /callback

    @property
    def cookies(self) -> StepCookies:
        return COOKIES[self.step]

    @property
    def cookie(self) -> str:
        """The cookie that holds the session."""
        return self.cookies.holder

    def stored_id_token(self, http: httpx2.Client) -> str | None:
        """The id_token the browser holds for this app right now (None: no session)."""
        return self.cookies.stored_id_token(http.cookies.get(self.cookie))


ENTRY_POINTS = [
    EntryPoint("01-callback", STEPS[0], log_in_hosted, True),
    EntryPoint("02-password", STEPS[1], log_in_with_password_form, False),
    EntryPoint("02-google", STEPS[1], log_in_with_google, True),
    EntryPoint("03-cookie", STEPS[2], log_in_hosted, True),
    EntryPoint("03-wrapper", STEPS[3], log_in_hosted, True),
]
REDIRECT_ENTRY_POINTS = [entry for entry in ENTRY_POINTS if entry.redirect_flow]


@pytest.fixture(params=ENTRY_POINTS, ids=lambda entry: entry.name)
def entry(request) -> EntryPoint:
    return request.param


@pytest.fixture(params=REDIRECT_ENTRY_POINTS, ids=lambda entry: entry.name)
def redirect_entry(request) -> EntryPoint:
    return request.param


# ---- apps ----------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_app(step: str, on: RunningTenant, **overrides) -> Iterator[str]:
    """Run one step app (a process of its own as far as caches go) against `on`; yield its base URL."""
    port = free_port()
    settings = on.settings_for(port, **overrides)
    with serve(load_step(step).create_app(settings), port):
        yield settings.base_url


@pytest.fixture(scope="module")
def apps(shared_tenant: RunningTenant) -> Iterator[dict[str, str]]:
    """Every step app, served once per module against the session's tenant: {step path: base URL}."""
    with contextlib.ExitStack() as stack:
        yield {step: stack.enter_context(serve_app(step, shared_tenant)) for step in STEPS}


@pytest.fixture
def app(apps, entry, tenant) -> str:
    return apps[entry.step]


# ---- what a refused login must not leave behind ------------------------------------------


class Records(logging.Handler):
    """Every log record, formatted, from the apps, Authlib, httpx and uvicorn (access log included).

    Only what the servers log counts: the test's own client runs in the main thread.
    """

    LOGGERS = (
        "",
        "tutorial",
        "authlib",
        "httpx",
        "httpcore",
        "starlette",
        "uvicorn",
        "uvicorn.error",
        "uvicorn.access",
    )

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == threading.main_thread().ident:
            return  # the test's own HTTP client (the "browser"), not a server
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def capture_logs() -> Iterator[Records]:
    """Capture at DEBUG; enter it after the servers started (uvicorn resets its loggers when it starts)."""
    records = Records()
    saved = []
    for name in Records.LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        # uvicorn's loggers do not propagate to the root logger, so listen on each of them.
        if name in ("", "uvicorn", "uvicorn.access"):
            logger.addHandler(records)
    try:
        yield records
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            logger.removeHandler(records)


@pytest.fixture
def logs(app) -> Iterator[Records]:
    with capture_logs() as records:
        yield records


class IssuedTokens:
    """Records the secrets of each login as the tenant sees them, to prove none reaches the logs:
    the id_tokens it signs, and the code and PKCE code_verifier each exchange presents."""

    def __init__(self, tenant: DevTenant, monkeypatch: pytest.MonkeyPatch) -> None:
        self.id_tokens: list[str] = []
        self.exchanges: list[str] = []
        sign_id_token, code_grant = tenant._sign_id_token, tenant._code_grant

        def sign(*args, **kwargs) -> str:
            token = sign_id_token(*args, **kwargs)
            self.id_tokens.append(token)
            return token

        def exchange(client, body):
            self.exchanges += [str(body.get(name) or "") for name in ("code", "code_verifier")]
            return code_grant(client, body)

        monkeypatch.setattr(tenant, "_sign_id_token", sign)
        monkeypatch.setattr(tenant, "_code_grant", exchange)

    @property
    def secrets(self) -> list[str]:
        return [*self.id_tokens, *self.exchanges]


@pytest.fixture
def issued(tenant, monkeypatch) -> IssuedTokens:
    return IssuedTokens(tenant.tenant, monkeypatch)


def codes_in(response: httpx2.Response) -> list[str]:
    """The authorization codes handed to /callback along a redirect chain."""
    codes = []
    for hop in [*response.history, response]:
        location = hop.headers.get("location", "")
        codes += parse_qs(urlsplit(location).query).get("code", [])
    return codes


def set_cookie_headers(response: httpx2.Response) -> list[str]:
    return [h for hop in [*response.history, response] for h in hop.headers.get_list("set-cookie")]


def assert_refused(
    entry: EntryPoint, http: httpx2.Client, app: str, page: httpx2.Response, *, logs: Records, secrets: list[str]
) -> None:
    """An error page with a 4xx status, no session in any Set-Cookie or in the browser, and no secret in the logs."""
    assert 400 <= page.status_code < 500, f"{page.status_code}: {page.text}"
    assert 'class="card error"' in page.text, page.text
    for header in set_cookie_headers(page):
        assert not sets_a_session(header), f"the refused login stored a token: {header}"
    assert entry.stored_id_token(http) is None
    home = http.get(f"{app}/")
    assert home.status_code == 200, home.text
    assert 'id="btn-login"' in home.text and 'id="btn-logout"' not in home.text, home.text
    text = logs.text
    for secret in [*secrets, DEMO_PASSWORD]:
        assert secret and secret not in text, f"the logs leak a secret ({secret[:12]}…):\n{text[-3000:]}"


# ---- a tenant that counts the requests it serves --------------------------------------------


class CountingApp:
    """ASGI wrapper: how many requests each path received (e.g. the JWKS, /userinfo)."""

    def __init__(self, app) -> None:
        self.app = app
        self.hits: collections.Counter[str] = collections.Counter()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.hits[scope["path"]] += 1
        await self.app(scope, receive, send)

    @property
    def jwks_fetches(self) -> int:
        return self.hits["/.well-known/jwks.json"]


@dataclass
class CountedTenant(RunningTenant):
    counter: CountingApp | None = None


@contextlib.contextmanager
def serve_app_warmed_up(step: str, on: CountedTenant, **overrides) -> Iterator[str]:
    """serve_app, yielding once the app made its one start-up JWKS fetch (it does so in the background)."""
    before = on.counter.jwks_fetches
    with serve_app(step, on, **overrides) as app:
        deadline = time.monotonic() + 5
        while on.counter.jwks_fetches == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert on.counter.jwks_fetches == before + 1, "the app fetches the JWKS once at start-up, before any request"
        yield app


@contextlib.contextmanager
def counted_tenant(state_dir) -> Iterator[CountedTenant]:
    port = free_port()
    issuer = f"http://localhost:{port}/"
    tenant = DevTenant(issuer, state_dir, testing=True, any_app_port=True)  # the apps run on free ports
    counter = CountingApp(tenant.app)
    with serve(counter, port):
        yield CountedTenant(tenant, issuer, state_dir, counter)


@pytest.fixture
def own_tenant(tmp_path) -> Iterator[CountedTenant]:
    """A tenant of this test's own (its keys may rotate), counting the requests it serves."""
    with counted_tenant(tmp_path / "own-tenant") as running:
        yield running


@pytest.fixture(scope="module")
def counting_tenant(tmp_path_factory) -> Iterator[CountedTenant]:
    """A counting tenant shared by a module; its keys never rotate."""
    with counted_tenant(tmp_path_factory.mktemp("counting-tenant")) as running:
        yield running
