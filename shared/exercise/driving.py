"""Driving a graded app the way a browser would, without one: its pages, cookies, records, and the
tenant's login page (the grader's moves in shared/exercise/graders.py and graders_03.py)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import secrets
import tempfile
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
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from shared.config import Settings
from shared.context import context
from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant, Faults, dev_client_secret
from shared.exercise import Step, shown_path
from shared.exercise.serving import Grader, expect, free_port, load_source, serve


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
    def tenant(self) -> DevTenant:
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

    def plant_record(self, id_token: str, expires_at: float | None = None) -> None:
        """A record for a token that was never logged in, as if Create Session had written one."""
        claims = payload(id_token)
        now = time.time()
        key = self.module.session_key(id_token)
        ends = now + 3600 if expires_at is None else expires_at
        record = self.module.SessionRecord(key, claims.get("sid"), claims["sub"], now, now, ends)
        asyncio.run(self.records.start(record))

    # -- logging in and out

    def follow(
        self, client: httpx2.Client, response: httpx2.Response, stop_at: str | None = None
    ) -> tuple[httpx2.Response, list[str]]:
        """Follow redirects by hand; return the last answer and every URL on the way. With
        `stop_at` (a path), stop before requesting it: its URL is the last one seen."""
        seen = [str(response.url)]
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            target = urljoin(str(response.url), response.headers["location"])
            seen.append(target)
            if urlsplit(target).path == stop_at:
                break
            response = client.get(target)
        return response, seen

    def hosted_login(
        self,
        client: httpx2.Client,
        email: str = DEMO_EMAIL,
        password: str = DEMO_PASSWORD,
        stop_at: str | None = None,
    ) -> tuple[httpx2.Response, str]:
        """Log in on the tenant's page; return the app's last answer and the callback URL used
        (with `stop_at="/callback"`, the callback URL is not opened: the login stays in progress)."""
        page, _ = self.follow(client, client.get(f"{self.url}/login"))
        expect(page.status_code == 200, f"Log In did not lead to the tenant's login page ({page.status_code})")
        form = password_form(page.text, str(page.url))
        expect(form is not None, "Log In did not lead to the tenant's login page")
        assert form is not None
        fields = dict(form.fields)
        fields["username"] = email
        fields["password"] = password
        answer, seen = self.follow(client, client.post(form.action, data=fields), stop_at)
        callback = next((url for url in seen if urlsplit(url).path == "/callback"), "")
        return answer, callback

    def cookie_flags(self, client: httpx2.Client, name: str) -> tuple[bool, str | None]:
        """Whether the app set cookie `name` HttpOnly, and its SameSite (as Starlette spells them)."""
        for cookie in client.cookies.jar:
            if cookie.name == name:
                return cookie.has_nonstandard_attr("HttpOnly"), cookie.get_nonstandard_attr("SameSite")
        return False, None

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


MoveGrader = Callable[[Run], None]  # one per move: raises Unmet at the first expectation not met


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
