"""Grading a participant's copy: the lesson's behaviour checks, run against the copy, in process.

Each move is graded on its own: the copy's entry file is loaded with the copy's version of that one
move and the finished version of the others, so a blank Log In does not also fail Callback and a
mistake shows up under the move that made it. The app is served on a loopback port against a dev
tenant started here (in a temporary folder, built for tests so that its faults can be switched on),
and driven over HTTP the way a browser would, without one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import importlib.util
import json
import logging
import secrets
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import itsdangerous
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from shared.config import Settings
from shared.context import context
from shared.dev_tenant import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEV_CLIENT_ID,
    Faults,
    Tenant,
    dev_client_secret,
)
from shared.exercise import Move, Step, blank_line, function_source, replace_function, shown_path
from shared.tokens import BACKCHANNEL_LOGOUT_EVENT


class Unmet(Exception):
    """The first expectation of a move's check that the copy did not meet, in a learner's words."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise Unmet(message)


@dataclass(frozen=True)
class Outcome:
    file: str
    move: str  # the function
    title: str  # the move as the README calls it
    done: bool
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "move": self.move,
            "title": self.title,
            "done": self.done,
            "message": self.message,
        }


# ---- serving on loopback (the same few lines as tests/support/servers.py) ------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Any, port: int) -> Iterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise Unmet("the app did not start: run it once with `uv run` to see why")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class AppErrors(logging.Handler):
    """Keeps what the app logged instead of printing it: a learner's check shows no traceback,
    only the line of the copy where the exception came from."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.exceptions: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.exceptions.append(record.exc_info[1])


@contextlib.contextmanager
def quiet_logs() -> Iterator[AppErrors]:
    root = logging.getLogger()
    errors = AppErrors()
    saved = root.handlers[:], root.level
    root.handlers = [errors]
    root.setLevel(logging.WARNING)
    try:
        yield errors
    finally:
        root.handlers, level = saved
        root.setLevel(level)


# ---- a tenant and a graded app ---------------------------------------------------------------


@dataclass
class Grader:
    tenant: Tenant
    issuer: str
    state_dir: Path
    errors: AppErrors


@contextlib.contextmanager
def running_tenant() -> Iterator[Grader]:
    with tempfile.TemporaryDirectory(prefix="exercise-check-") as folder, quiet_logs() as errors:
        port = free_port()
        issuer = f"http://localhost:{port}/"
        tenant = Tenant(issuer, Path(folder) / "tenant", testing=True)
        with serve(tenant.app, port):
            yield Grader(tenant, issuer, Path(folder), errors)


def graded_source(copy_source: str, finished_source: str, moves: tuple[Move, ...], move: Move) -> str:
    """The copy's file with every move of the file (`moves`) but `move` put back as finished."""
    source = copy_source
    for other in moves:
        if other.function != move.function:
            source = replace_function(source, other.function, function_source(finished_source, other.function))
    return source


def load_source(path: Path, source: str, modules: dict[str, ModuleType] | None = None) -> ModuleType:
    """Run `source` as the entry file at `path`: its sibling modules are the copy's own, but for
    `modules` (by name): step 03's wrapper_app.py is graded on the finished cookie_app.py."""
    name = f"exercise_{secrets.token_hex(6)}"
    folder = str(path.parent)
    siblings = {file.stem for file in path.parent.glob("*.py")}
    saved = {sibling: sys.modules.pop(sibling) for sibling in siblings if sibling in sys.modules}
    sys.modules.update(modules or {})
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = str(path)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        # The graded source is the participant's own file with finished moves spliced in.
        exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102
    finally:
        sys.path.remove(folder)
        for sibling in siblings | set(modules or {}):
            sys.modules.pop(sibling, None)
        sys.modules.update(saved)
    return module


@dataclass
class Run:
    """One graded app, served, and what a check needs to drive it."""

    grader: Grader
    module: ModuleType
    app: Starlette
    settings: Settings
    url: str
    signed_cookie: str
    id_token_cookie: str | None
    clients: list[httpx2.Client] = field(default_factory=list)

    @property
    def tenant(self) -> Tenant:
        return self.grader.tenant

    @property
    def faults(self) -> Faults:
        """The tenant's deliberate misbehaviour: there, since the grader builds it for tests."""
        faults = self.grader.tenant.faults
        assert faults is not None
        return faults

    def browser(self) -> httpx2.Client:
        client = httpx2.Client(timeout=10, trust_env=False)
        self.clients.append(client)
        return client

    # -- pages and cookies

    def page(self, client: httpx2.Client) -> httpx2.Response:
        return client.get(f"{self.url}/")

    def shows_logged_in(self, client: httpx2.Client) -> bool:
        return logged_in_html(self.page(client).text)

    def cookie(self, client: httpx2.Client, name: str) -> str | None:
        for cookie in client.cookies.jar:
            if cookie.name == name:
                return cookie.value
        return None

    def session(self, client: httpx2.Client) -> dict[str, Any]:
        return session_data(self.cookie(client, self.signed_cookie) or "")

    def set_session(self, client: httpx2.Client, data: dict[str, Any]) -> None:
        """Rewrite the signed cookie as SessionMiddleware would, with the app's own key."""
        for cookie in client.cookies.jar:
            if cookie.name == self.signed_cookie:
                cookie.value = self.signed(data)
                return
        client.cookies.set(self.signed_cookie, self.signed(data), domain="localhost.local")

    def signed(self, data: dict[str, Any]) -> str:
        payload = base64.b64encode(json.dumps(data).encode())
        signer = itsdangerous.TimestampSigner(self.settings.app_secret_key)
        return signer.sign(payload).decode()

    def id_token(self, client: httpx2.Client) -> str | None:
        if self.id_token_cookie:
            return self.cookie(client, self.id_token_cookie)
        token = self.session(client).get("id_token")
        return token if isinstance(token, str) else None

    def holding(self, id_token: str) -> dict[str, str]:
        """A Cookie header holding `id_token`, written the way this app writes it."""
        if self.id_token_cookie:
            return {"cookie": f"{self.id_token_cookie}={id_token}"}
        return {"cookie": f"{self.signed_cookie}={self.signed({'id_token': id_token})}"}

    def logged_in_with(self, id_token: str) -> bool:
        page = httpx2.get(f"{self.url}/", headers=self.holding(id_token), trust_env=False)
        return logged_in_html(page.text)

    # -- the records of step 03

    @property
    def records(self) -> Any:
        step: Any = context(self.app)  # step 03's context: shared/ cannot import its class
        return step.records

    def record_of(self, id_token: str) -> Any:
        return asyncio.run(self.records.get(self.module.session_key(id_token)))

    def plant_record(self, id_token: str) -> None:
        """A record for a token that was never logged in, as if Create Session had written one."""
        claims = payload(id_token)
        now = time.time()
        key = self.module.session_key(id_token)
        record = self.module.SessionRecord(key, claims.get("sid"), claims["sub"], now, now, now + 3600)
        asyncio.run(self.records.start(record))

    # -- logging in and out

    def follow(self, client: httpx2.Client, response: httpx2.Response) -> tuple[httpx2.Response, list[str]]:
        """Follow redirects by hand; return the last answer and every URL on the way."""
        seen = [str(response.url)]
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            target = urljoin(str(response.url), response.headers["location"])
            seen.append(target)
            response = client.get(target)
        return response, seen

    def hosted_login(
        self, client: httpx2.Client, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD
    ) -> tuple[httpx2.Response, str]:
        """Log in on the tenant's page; return the app's last answer and the callback URL used."""
        page, _ = self.follow(client, client.get(f"{self.url}/login"))
        expect(page.status_code == 200, f"Log In did not lead to the tenant's login page ({page.status_code})")
        form = password_form(page.text, str(page.url))
        expect(form is not None, "Log In did not lead to the tenant's login page")
        assert form is not None
        fields = dict(form.fields)
        fields["username"] = email
        fields["password"] = password
        answer, seen = self.follow(client, client.post(form.action, data=fields))
        callback = next((url for url in seen if urlsplit(url).path == "/callback"), "")
        return answer, callback

    def log_in(self, client: httpx2.Client) -> str:
        """Log in as the demo user with the finished moves; return the stored id_token."""
        self.hosted_login(client)
        id_token = self.id_token(client)
        expect(id_token and self.shows_logged_in(client), "logging in failed before this move ran")
        assert id_token is not None
        return id_token

    def csrf(self, client: httpx2.Client, path: str = "/logout") -> str:
        page = client.get(f"{self.url}{path}")
        found = FormParser.csrf(page.text)
        return found or ""

    def post(self, client: httpx2.Client, path: str, data: dict[str, str]) -> httpx2.Response:
        return client.post(f"{self.url}{path}", data=data, headers={"origin": self.url})

    def raised(self) -> str:
        """Where the app's last exception came from in the copy, for the learner's message."""
        if not self.grader.errors.exceptions:
            return ""
        error = self.grader.errors.exceptions[-1]
        file = str(Path(self.module.__file__ or ""))
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == file]
        where = f" at {shown_path(Path(file))}, line {frames[-1].lineno}" if frames else ""
        return f" (the app raised {type(error).__name__}: {error}{where})"


def finished_entry_files(step: Step, file: str) -> dict[str, ModuleType]:
    """The step's other entry files, finished: a move of one file is graded on its own, even when
    that file imports another (step 03's wrapper_app.py builds cookie_app.py's app)."""
    from shared.exercise import solution_file

    modules = {}
    for other in step.files:
        if other != file:
            path = solution_file(step, other)
            modules[path.stem] = load_source(path, path.read_text(encoding="utf-8"))
    return modules


@contextlib.contextmanager
def graded_app(grader: Grader, path: Path, source: str, modules: dict[str, ModuleType]) -> Iterator[Run]:
    module = load_source(path, source, modules)
    port = free_port()
    settings = Settings(
        issuer=grader.issuer,
        client_id=DEV_CLIENT_ID,
        client_secret=dev_client_secret(grader.tenant.state_dir),
        app_secret_key="exercise-check-" + secrets.token_hex(24),
        base_url=f"http://localhost:{port}",
        embedded=True,
        state_dir=Path(tempfile.mkdtemp(dir=grader.state_dir)),
    )
    app = module.create_app(settings)
    run = Run(
        grader,
        module,
        app,
        settings,
        settings.base_url,
        context(app).signed_cookie,
        context(app).cookie(module.ID_TOKEN_COOKIE) if hasattr(module, "ID_TOKEN_COOKIE") else None,
    )
    grader.errors.exceptions.clear()
    with serve(app, port):
        try:
            yield run
        finally:
            for client in run.clients:
                client.close()
            run.faults.reset()


# ---- reading pages and tokens ----------------------------------------------------------------


def logged_in_html(html: str) -> bool:
    return 'id="btn-logout"' in html


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    has_password: bool = False


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", "")))
        elif tag == "input" and self.forms:
            if values.get("name"):
                self.forms[-1].fields[values["name"]] = values.get("value", "")
            if values.get("type") == "password":
                self.forms[-1].has_password = True

    @staticmethod
    def csrf(html: str) -> str | None:
        parser = FormParser()
        parser.feed(html)
        for form in parser.forms:
            if "csrf_token" in form.fields:
                return form.fields["csrf_token"]
        return None


def password_form(html: str, base_url: str) -> Form | None:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if form.has_password:
            form.action = urljoin(base_url, form.action)
            return form
    return None


def session_data(value: str) -> dict[str, Any]:
    """SessionMiddleware's cookie is base64(JSON).timestamp.signature: signed, not encrypted."""
    try:
        data = json.loads(base64.b64decode(value.strip('"').split(".")[0]))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def sign(claims: dict[str, Any], key: RSAKey, typ: str = "JWT") -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": typ}, claims, key)


@functools.cache
def attackers_key() -> RSAKey:
    return RSAKey.generate_key(2048)  # made once per run: a new RSA key takes a while


def foreign_key(like: RSAKey) -> RSAKey:
    """An attacker's key that claims the tenant's key id."""
    return RSAKey.import_key(attackers_key().as_dict(private=True), {"kid": str(like.kid)})


Check = Callable[[Run], None]


def grade_move(grader: Grader, step: Step, copy: Path, file: str, move: Move, check: Check) -> Outcome:
    from shared.exercise import solution_file

    path = copy / file
    copy_source = path.read_text(encoding="utf-8")
    try:
        line = blank_line(copy_source, move.function)
    except SyntaxError as error:
        message = f"the copy does not load: {error.msg} at {shown_path(path)}, line {error.lineno}"
        return Outcome(file, move.function, move.title, False, message)
    if line:
        where = f"write the body of {move.function}() in {shown_path(path)}, line {line}"
        return Outcome(file, move.function, move.title, False, f"not written yet: {where}")
    finished = solution_file(step, file).read_text(encoding="utf-8")
    loaded = False
    try:
        source = graded_source(copy_source, finished, step.moves_in(file), move)
        with graded_app(grader, path, source, finished_entry_files(step, file)) as run:
            loaded = True
            try:
                check(run)
            except Unmet as unmet:
                return Outcome(file, move.function, move.title, False, f"{unmet}{run.raised()}")
            except httpx2.HTTPError as error:
                message = f"the app did not answer ({type(error).__name__}){run.raised()}"
                return Outcome(file, move.function, move.title, False, message)
    except Unmet as unmet:
        return Outcome(file, move.function, move.title, False, str(unmet))
    except Exception as error:  # the copy does not load, or a check broke: say where, no traceback
        if loaded:
            message = f"the check itself failed ({type(error).__name__}: {error}): tell the teacher"
            return Outcome(file, move.function, move.title, False, message)
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
        where = f" at {shown_path(path)}, line {frames[-1].lineno}" if frames else ""
        line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
        where = where or (f" at {shown_path(path)}, line {line}" if line else "")
        message = f"the copy does not load: {type(error).__name__}: {error}{where}"
        return Outcome(file, move.function, move.title, False, message)
    return Outcome(file, move.function, move.title, True)


def grade(step: Step, copy: Path, files: tuple[str, ...] | None = None) -> list[Outcome]:
    from shared.exercise.checks import CHECKS

    outcomes = []
    with running_tenant() as grader:
        for file in files or step.files:
            for move in step.moves_in(file):
                check = CHECKS[step.folder][move.function]
                outcomes.append(grade_move(grader, step, copy, file, move, check))
    return outcomes


__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "Outcome",
    "Run",
    "Unmet",
    "expect",
    "foreign_key",
    "grade",
    "payload",
    "query",
    "sign",
]
