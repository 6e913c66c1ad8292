"""The hosted pages /authorize sends a browser to: log in, sign up, the simulated Google chooser, cancel."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import templating
from .authorize import BROWSER_COOKIE, SESSION_COOKIE, redirect_to_client
from .defaults import DATABASE_CONNECTION, DEMO_EMAIL, DEMO_PASSWORD, GOOGLE_CONNECTION
from .models import Transaction, User
from .oauth_errors import BUSY, WRONG_PASSWORD, blocked_description
from .params import MAX_BODY, MAX_EMAIL, normalise_email, valid_email
from .users import UserExists, password_rules

if TYPE_CHECKING:
    from .server import DevTenant

GOOGLE_DEMO_EMAIL = "demo.google@example.com"
GOOGLE_DEMO_NAME = "Demo Google User"
MAX_NAME = 200


def rule_lines(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Auth0's PasswordStrengthError rules (`%d` messages and their `format`) as lines a page can list."""
    return [
        {
            # Only rules with a `format` are %-templates: "(e.g. !@#$%^&*)" is plain text.
            "text": rule["message"] % tuple(rule["format"]) if rule.get("format") else rule["message"],
            "met": rule["verified"],
            "items": rule_lines(rule.get("items", [])),
        }
        for rule in rules
    ]


@dataclass(slots=True)
class PageRequest:
    """A hosted page's request: its transaction id, the transaction if it is valid, and a POST's form.
    `redirect_uri`: the login's callback even when the post is refused, for the expired page's way back.
    `replaces`: the SSO session the browser's cookie names, which a login finished here replaces."""

    tx_id: str
    tx: Transaction | None
    form: FormData | None
    redirect_uri: str = ""
    replaces: str = ""


class HostedPages:
    """/u/login, /u/signup, /u/google (GET shows, POST submits) and POST /u/cancel."""

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        return [
            Route("/u/login", self.login, methods=["GET", "POST"]),
            Route("/u/signup", self.signup, methods=["GET", "POST"]),
            Route("/u/google", self.google, methods=["GET", "POST"]),
            Route("/u/cancel", self.cancel, methods=["POST"]),
        ]

    async def _read(self, request: Request) -> PageRequest:
        """Find the login transaction for a hosted page; for a POST, check its CSRF binding."""
        form = None
        if request.method == "POST":
            if int(request.headers.get("content-length") or 0) > MAX_BODY:
                return PageRequest("", None, None)
            try:
                form = await request.form(max_files=0, max_fields=20, max_part_size=MAX_BODY)
            except Exception:
                return PageRequest("", None, None)
            tx_id = str(form.get("state") or "")
        else:
            tx_id = request.query_params.get("state", "")
        tx = self.tenant.transactions.get(tx_id)
        if tx is None:
            return PageRequest(tx_id, None, form, self._way_back(form))
        if form is not None:
            # A form posted from another site (no CSRF token) or another browser (no matching cookie)
            # must not log anyone in.
            csrf_ok = hmac.compare_digest(str(form.get("csrf") or ""), tx.csrf)
            browser_ok = hmac.compare_digest(request.cookies.get(BROWSER_COOKIE) or "", tx.browser)
            if not (csrf_ok and browser_ok):
                return PageRequest(tx_id, None, form, tx.redirect_uri)
        return PageRequest(tx_id, tx, form, replaces=request.cookies.get(SESSION_COOKIE) or "")

    def _way_back(self, form: FormData | None) -> str:
        """The callback a form posted after its login ended names, if that client registered it: the
        expired page links to the app behind it, and to nowhere a forged form could choose."""
        if form is None:
            return ""
        client = self.tenant.clients.get(str(form.get("client_id") or ""))
        redirect_uri = str(form.get("redirect_uri") or "")
        return redirect_uri if client is not None and client.allows_callback(redirect_uri) else ""

    def _context(self, tx_id: str, tx: Transaction) -> dict[str, Any]:
        client = self.tenant.clients.get(tx.client_id)
        return {
            "tx_id": tx_id,
            "csrf": tx.csrf,
            "client_id": tx.client_id,
            "redirect_uri": tx.redirect_uri,
            "client_name": client.name if client else tx.client_id,
            "demo_email": DEMO_EMAIL,
            "demo_password": DEMO_PASSWORD,
            "google_demo_email": GOOGLE_DEMO_EMAIL,
            "google_demo_name": GOOGLE_DEMO_NAME,
            "email": "",
            "name": "",
            "error": "",
            "invalid": (),  # the fields an error is about: marked aria-invalid and described by it
            "rules": [],
        }

    async def _log_in(self, request: Request, page: PageRequest, user: User) -> Response:
        assert page.tx is not None
        try:
            response = self.tenant.authorize.log_in(page.tx_id, user)
        except LookupError:
            return templating.expired_page(page.tx.redirect_uri)
        await self.tenant.authorize.end_replaced(page.replaces)
        self.tenant.logs.record("s", "", request=request, client_id=page.tx.client_id, user=user)
        return response

    def _failed(self, request: Request, page: PageRequest, event: str, description: str, email: str) -> None:
        """A refused login or sign-up, in the logs (never the password typed)."""
        assert page.tx is not None
        shown = normalise_email(email) if valid_email(email) else ""
        self.tenant.logs.record(
            event,
            description,
            request=request,
            client_id=page.tx.client_id,
            user_name=shown,
            connection=DATABASE_CONNECTION,
        )

    async def login(self, request: Request) -> Response:
        """The hosted login form (Lock / Universal Login stand-in): email and password."""
        page = await self._read(request)
        if page.tx is None:
            return templating.expired_page(page.redirect_uri)
        context = self._context(page.tx_id, page.tx)
        if page.form is None:
            return templating.render("login.html", **context)
        email = str(page.form.get("username") or "").strip()
        password = str(page.form.get("password") or "")
        context["email"] = email[:MAX_EMAIL]
        context["invalid"] = ("username", "password")  # Auth0 never says which of the two was wrong
        if not email or not password:
            context["error"] = "Enter your email address and password."
            return templating.render("login.html", 400, **context)
        outcome, user = await run_in_threadpool(self.tenant.users.authenticate, DATABASE_CONNECTION, email, password)
        if outcome == "blocked":
            context["error"] = blocked_description(self.tenant.unblock_command(email))
            self._failed(request, page, "limit_wc", context["error"], email)
            return templating.render("login.html", 429, **context)
        if outcome == "busy":
            context["error"] = BUSY
            self._failed(request, page, "f", BUSY, email)
            return templating.render("login.html", 429, **context)
        if outcome != "ok" or user is None:
            context["error"] = WRONG_PASSWORD
            known = await run_in_threadpool(self.tenant.users.get, DATABASE_CONNECTION, email)
            self._failed(request, page, "fp" if known else "fu", WRONG_PASSWORD, email)
            return templating.render("login.html", 403, **context)
        return await self._log_in(request, page, user)

    async def signup(self, request: Request) -> Response:
        """The hosted sign-up form; a new user is logged in at once, as on Auth0."""
        page = await self._read(request)
        if page.tx is None:
            return templating.expired_page(page.redirect_uri)
        context = self._context(page.tx_id, page.tx)
        if page.form is None:
            return templating.render("signup.html", **context)
        email = str(page.form.get("email") or "").strip()
        password = str(page.form.get("password") or "")
        context["email"] = email[:MAX_EMAIL]
        if not valid_email(email) or not password:
            context["error"] = "Enter a valid email address and a password."
            context["invalid"] = ("email",) * (not valid_email(email)) + ("password",) * (not password)
            self._failed(request, page, "fs", context["error"], email)
            return templating.render("signup.html", 400, **context)
        ok, policy = password_rules(password)
        if not ok:
            context["error"] = "That password is too weak. A password needs:"
            context["rules"] = rule_lines(policy["rules"])
            context["invalid"] = ("password",)
            self._failed(request, page, "fs", "Password is too weak", email)
            return templating.render("signup.html", 400, **context)
        try:
            user = await run_in_threadpool(self.tenant.users.create, DATABASE_CONNECTION, email, password)
        except UserExists:
            context["error"] = "The user already exists."
            context["invalid"] = ("email",)
            self._failed(request, page, "fs", context["error"], email)
            return templating.render("signup.html", 400, **context)
        self.tenant.logs.record("ss", "", request=request, client_id=page.tx.client_id, user=user)
        return await self._log_in(request, page, user)

    async def google(self, request: Request) -> Response:
        """A simulated Google account chooser: no Google account is contacted (workshops run offline)."""
        page = await self._read(request)
        if page.tx is None:
            return templating.expired_page(page.redirect_uri)
        context = self._context(page.tx_id, page.tx)
        if page.form is None:
            return templating.render("google.html", **context)
        if page.form.get("account") == "demo":
            email, name = GOOGLE_DEMO_EMAIL, GOOGLE_DEMO_NAME
        else:
            email = normalise_email(str(page.form.get("email") or ""))
            name = str(page.form.get("name") or "").strip()[:MAX_NAME] or email.split("@", 1)[0][:MAX_NAME]
            context.update(email=email[:MAX_EMAIL], name=name)
            if not valid_email(email):
                context["error"] = "Enter a valid email address."
                context["invalid"] = ("email",)
                return templating.render("google.html", 400, **context)
        # Google's subjects are 21 digits; derived from the email so the same account keeps its id.
        digits = str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:21]
        user = await run_in_threadpool(
            self.tenant.users.upsert_social, GOOGLE_CONNECTION, f"{GOOGLE_CONNECTION}|{digits}", email, name
        )
        return await self._log_in(request, page, user)

    async def cancel(self, request: Request) -> Response:
        """Back to the app with error=access_denied, as when a user closes Auth0's login page."""
        page = await self._read(request)
        if page.tx is None:
            return templating.expired_page(page.redirect_uri)
        self.tenant.transactions.pop(page.tx_id)
        return redirect_to_client(
            page.tx.redirect_uri,
            {"error": "access_denied", "error_description": "The user cancelled the login.", "state": page.tx.state},
        )
