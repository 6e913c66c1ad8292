"""The dev tenant: a local, Auth0-compatible OpenID Connect provider on Starlette."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwk, jwt
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import pages
from .defaults import (
    DATABASE_CONNECTION,
    DEFAULT_PORT,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEV_CLIENT_ID,
    GOOGLE_CONNECTION,
    default_state_dir,
    dev_client_secret,
)
from .keys import KeyStore
from .users import POLICY_TEXT, UserExists, UserStore, initials, password_rules

GOOGLE_DEMO_EMAIL = "demo.google@example.com"
GOOGLE_DEMO_NAME = "Demo Google User"

PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
DEFAULT_GRANTS = ("authorization_code", "password", PASSWORD_REALM_GRANT)
DEFAULT_SCOPE = "openid profile email"

# Cookie names carry a prefix: the tenant (localhost:4000) and the apps (localhost:3000) share
# one browser cookie jar, because browsers ignore ports for cookies.
SESSION_COOKIE = "devtenant_session"
BROWSER_COOKIE = "devtenant_browser"

CODE_TTL = 300
ACCESS_TOKEN_TTL = 86400
ID_TOKEN_TTL = 36000
TRANSACTION_TTL = 1800
SSO_TTL = 3 * 86400
MAX_BODY = 64 * 1024

BLOCKED_DESCRIPTION = (
    "Your account has been blocked after multiple consecutive login attempts. "
    "We've sent you an email with instructions on how to unblock it."
)
WRONG_PASSWORD = "Wrong email or password."


@dataclass
class Client:
    client_id: str
    client_secret: str
    callback_urls: list[str]
    logout_urls: list[str]
    grant_types: list[str] = field(default_factory=lambda: list(DEFAULT_GRANTS))
    name: str = "Tutorial App"

    def allows_callback(self, url: str) -> bool:
        return any(_url_matches(pattern, url, self.client_id == DEV_CLIENT_ID) for pattern in self.callback_urls)

    def allows_logout(self, url: str) -> bool:
        return any(_url_matches(pattern, url, self.client_id == DEV_CLIENT_ID) for pattern in self.logout_urls)


def _url_matches(pattern: str, url: str, port_wildcard: bool) -> bool:
    """Exact match (a trailing slash on an empty path is ignored); `host:*` matches any port
    only for the built-in dev client."""
    if not url or len(url) > 2048:
        return False

    def norm(value: str) -> str:
        parts = urlsplit(value)
        return value + "/" if parts.path == "" and not parts.query and not parts.fragment else value

    if "*" not in pattern:
        return norm(pattern) == norm(url)
    if not port_wildcard:
        return False
    try:
        want, got = urlsplit(pattern.replace(":*", ":1", 1)), urlsplit(url)
        port = got.port
    except ValueError:
        return False
    if port is None or got.query or got.fragment or got.username or got.password:
        return False
    return (
        got.scheme == want.scheme
        and got.hostname == want.hostname
        and (got.path or "/") == (want.path or "/")
        and got.netloc == f"{want.hostname}:{port}"
    )


_SIGNING_MODES = {"rs256", "bad_signature", "none", "hs256_client_secret", "foreign_key", "no_kid"}
_JWKS_MODES = {"normal", "no_kid", "multi_no_kid"}


@dataclass
class Faults:
    """Deliberate misbehaviour for tests (only used when the tenant is built with testing=True)."""

    id_token_claims: dict = field(default_factory=dict)
    id_token_remove: list = field(default_factory=list)
    signing: str = "rs256"
    jwks: str = "normal"
    userinfo_claims: dict = field(default_factory=dict)

    def update(self, **fields: Any) -> None:
        for name, value in fields.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault: {name}")
            if name == "signing" and value not in _SIGNING_MODES:
                raise ValueError(f"signing must be one of {sorted(_SIGNING_MODES)}")
            if name == "jwks" and value not in _JWKS_MODES:
                raise ValueError(f"jwks must be one of {sorted(_JWKS_MODES)}")
            if name in ("id_token_claims", "userinfo_claims") and not isinstance(value, dict):
                raise ValueError(f"{name} must be an object")
            if name == "id_token_remove" and not (
                isinstance(value, list) and all(isinstance(item, str) for item in value)
            ):
                raise ValueError("id_token_remove must be a list of claim names")
            setattr(self, name, value)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


class Tenant:
    """One tenant: its clients, users, keys, sessions and the ASGI app serving them."""

    def __init__(
        self,
        issuer: str = f"http://localhost:{DEFAULT_PORT}/",
        state_dir: Path | None = None,
        *,
        testing: bool = False,
        advertise_end_session: bool = True,
    ) -> None:
        self.issuer = issuer if issuer.endswith("/") else issuer + "/"
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.testing = testing
        self.advertise_end_session = advertise_end_session
        self.faults: Faults | None = Faults() if testing else None
        self.keys = KeyStore(self.state_dir)
        self.users = UserStore(self.state_dir, self.issuer)
        self.clients: dict[str, Client] = {}
        # In-memory state: login transactions, SSO sessions, codes and access tokens.
        self._lock = threading.Lock()
        self._transactions: dict[str, dict] = {}
        self._sessions: dict[str, dict] = {}
        self._codes: dict[str, dict] = {}
        self._access_tokens: dict[str, dict] = {}
        self.clock = time.time  # tests may replace it to move time forward

        self.register_client(
            Client(
                client_id=DEV_CLIENT_ID,
                client_secret=dev_client_secret(self.state_dir),
                callback_urls=["http://localhost:*/callback", "http://127.0.0.1:*/callback"],
                logout_urls=["http://localhost:*", "http://127.0.0.1:*"],
                name="Tutorial App (dev client)",
            )
        )
        if self.users.get(DATABASE_CONNECTION, DEMO_EMAIL) is None:
            try:
                self.create_user(DEMO_EMAIL, DEMO_PASSWORD, nickname="demo", name="Demo User")
            except UserExists:
                pass
        self.app = Starlette(routes=self._routes())

    # ---- Python API -------------------------------------------------------------------------

    def register_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def create_user(self, email: str, password: str, **profile: Any) -> dict:
        return self.users.create(DATABASE_CONNECTION, email, password, **profile)

    def unblock_user(self, email: str) -> None:
        self.users.unblock(DATABASE_CONNECTION, email)

    def rotate_key(self) -> str:
        return self.keys.rotate()

    def retire_old_keys(self) -> None:
        self.keys.retire_old()

    # ---- routes -----------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        routes = [
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/.well-known/jwks.json", self.jwks),
            Route("/authorize", self.authorize),
            Route("/u/login", self.login_page, methods=["GET", "POST"]),
            Route("/u/signup", self.signup_page, methods=["GET", "POST"]),
            Route("/u/google", self.google_page, methods=["GET", "POST"]),
            Route("/u/cancel", self.cancel, methods=["POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
            Route("/dbconnections/signup", self.signup_api, methods=["POST"]),
            Route("/v2/logout", self.logout_v2),
            Route("/oidc/logout", self.logout_oidc, methods=["GET", "POST"]),
            Route("/avatars/{picture_id}.svg", self.avatar),
            Route("/", self.home),
        ]
        if self.testing:
            routes += [
                Route("/test/faults", self.test_faults, methods=["POST", "DELETE"]),
                Route("/test/rotate-key", self.test_rotate_key, methods=["POST"]),
            ]
        return routes

    async def home(self, request: Request) -> Response:
        return pages.message_page(
            "Local dev tenant",
            f"This is the local stand-in for an Auth0 tenant. Issuer: {self.issuer}",
            hint=f"Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD}",
            status_code=200,
        )

    async def discovery(self, request: Request) -> Response:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}authorize",
            "token_endpoint": f"{self.issuer}oauth/token",
            "userinfo_endpoint": f"{self.issuer}userinfo",
            "jwks_uri": f"{self.issuer}.well-known/jwks.json",
            "registration_endpoint": None,
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": list(DEFAULT_GRANTS),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "aud",
                "auth_time",
                "email",
                "email_verified",
                "exp",
                "iat",
                "iss",
                "name",
                "nickname",
                "nonce",
                "picture",
                "sid",
                "sub",
                "updated_at",
            ],
            "request_uri_parameter_supported": False,
            "request_parameter_supported": False,
        }
        del doc["registration_endpoint"]
        if self.advertise_end_session:
            doc["end_session_endpoint"] = f"{self.issuer}oidc/logout"
        return JSONResponse(doc)

    async def jwks(self, request: Request) -> Response:
        mode = self.faults.jwks if self.faults else "normal"
        return JSONResponse(self.keys.jwks(mode))

    async def avatar(self, request: Request) -> Response:
        picture_id = request.path_params["picture_id"]
        user = self.users.by_picture_id(picture_id) if picture_id.isalnum() else None
        label = initials(user.get("name") or user["email"]) if user else "?"
        color = f"#{hashlib.sha256(picture_id.encode()).hexdigest()[:6]}"
        return Response(
            pages.avatar_svg(label, color),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=3600", "Content-Security-Policy": "default-src 'none'"},
        )

    # ---- /authorize and the hosted pages ---------------------------------------------------

    def _now(self) -> float:
        return self.clock()

    def _redirect_to_client(self, redirect_uri: str, params: dict[str, str | None]) -> RedirectResponse:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)

    def _current_session(self, request: Request) -> dict | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None or session["expires"] < self._now():
            self._sessions.pop(sid, None)
            return None
        return session

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        client_id = params.get("client_id", "")
        client = self.clients.get(client_id)
        if client is None:
            return pages.message_page(
                "Something went wrong",
                "Unknown client: the client_id is missing or not registered at this tenant.",
                error="invalid_request",
            )
        redirect_uri = params.get("redirect_uri", "")
        if not client.allows_callback(redirect_uri):
            return pages.message_page(
                "Callback URL mismatch",
                "The provided redirect_uri is not in the list of allowed callback URLs.",
                error="Callback URL mismatch",
                hint="Add the URL to the application's Allowed Callback URLs, or fix the app's redirect_uri.",
            )
        state = params.get("state")

        def fail(error: str, description: str) -> RedirectResponse:
            return self._redirect_to_client(
                redirect_uri, {"error": error, "error_description": description, "state": state}
            )

        response_type = params.get("response_type")
        if not response_type:
            return fail("invalid_request", "Missing required parameter: response_type")
        if response_type != "code":
            return fail("unsupported_response_type", f"Unsupported response type: {response_type}")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None:
            if (method or "plain") != "S256":
                return fail("invalid_request", "Unsupported code_challenge_method: only S256 is allowed")
            if not 43 <= len(challenge) <= 128:
                return fail("invalid_request", "Invalid code_challenge")
        elif method is not None:
            return fail("invalid_request", "Missing required parameter: code_challenge")
        connection = params.get("connection") or DATABASE_CONNECTION
        if connection not in (DATABASE_CONNECTION, GOOGLE_CONNECTION):
            return fail("invalid_request", "the connection was not found")
        prompt = set((params.get("prompt") or "").split())
        tx = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": params.get("nonce"),
            "scope": params.get("scope") or DEFAULT_SCOPE,
            "code_challenge": challenge,
            "connection": connection,
            "csrf": secrets.token_urlsafe(24),
            "expires": self._now() + TRANSACTION_TTL,
        }
        session = self._current_session(request)
        requested = params.get("connection")
        if session is not None and requested and session["user"].get("connection") != requested:
            session = None  # the app asked for another connection: that needs a new login
        if "none" in prompt:
            if session is None:
                return fail("login_required", "Login required")
            return self._issue_code(tx, session)
        if session is not None and "login" not in prompt:
            return self._issue_code(tx, session)

        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        tx["browser"] = browser
        tx_id = secrets.token_urlsafe(24)
        with self._lock:
            self._sweep(self._transactions)
            self._transactions[tx_id] = tx
        page = "/u/google" if connection == GOOGLE_CONNECTION else "/u/login"
        response = RedirectResponse(f"{page}?{urlencode({'state': tx_id})}", status_code=302)
        if request.cookies.get(BROWSER_COOKIE) != browser:
            response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="lax", path="/")
        return response

    def _sweep(self, store: dict[str, dict]) -> None:
        if len(store) > 1000:
            now = self._now()
            for key in [k for k, v in store.items() if v["expires"] < now]:
                store.pop(key, None)

    def _issue_code(self, tx: dict, session: dict) -> RedirectResponse:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._sweep(self._codes)
            self._codes[code] = {
                "client_id": tx["client_id"],
                "redirect_uri": tx["redirect_uri"],
                "code_challenge": tx["code_challenge"],
                "nonce": tx["nonce"],
                "scope": tx["scope"],
                "user": session["user"],
                "sid": session["sid"],
                "auth_time": session["auth_time"],
                "expires": self._now() + CODE_TTL,
            }
        return self._redirect_to_client(tx["redirect_uri"], {"code": code, "state": tx["state"]})

    def _login_and_redirect(self, tx_id: str, user: dict) -> RedirectResponse:
        tx = self._transactions.pop(tx_id, None)
        if tx is None:  # used in a parallel request
            raise LookupError(tx_id)
        sid = secrets.token_urlsafe(24)
        now = self._now()
        session = {"sid": sid, "user": user, "auth_time": int(now), "expires": now + SSO_TTL}
        with self._lock:
            self._sweep(self._sessions)
            self._sessions[sid] = session
        response = self._issue_code(tx, session)
        response.set_cookie(SESSION_COOKIE, sid, max_age=SSO_TTL, httponly=True, samesite="lax", path="/")
        return response

    async def _transaction(self, request: Request) -> tuple[str, dict | None, Any]:
        """Find the login transaction for a hosted page; for a POST, check its CSRF binding."""
        form = None
        if request.method == "POST":
            if int(request.headers.get("content-length") or 0) > MAX_BODY:
                return "", None, None
            try:
                form = await request.form(max_files=0, max_fields=20, max_part_size=MAX_BODY)
            except Exception:
                return "", None, None
            tx_id = str(form.get("state") or "")
        else:
            tx_id = request.query_params.get("state", "")
        tx = self._transactions.get(tx_id)
        if tx is None or tx["expires"] < self._now():
            return tx_id, None, form
        if form is not None:
            csrf_ok = hmac.compare_digest(str(form.get("csrf") or ""), tx["csrf"])
            browser_ok = hmac.compare_digest(request.cookies.get(BROWSER_COOKIE) or "", tx["browser"])
            if not (csrf_ok and browser_ok):
                return tx_id, None, form
        return tx_id, tx, form

    def _expired_page(self) -> Response:
        return pages.message_page(
            "This login page has expired",
            "The login request is unknown, expired, or was started in another browser.",
            error="invalid_request",
            hint="Go back to the application and start the login again.",
        )

    def _page_context(self, tx_id: str, tx: dict) -> dict:
        client = self.clients.get(tx["client_id"])
        return {
            "tx_id": tx_id,
            "csrf": tx["csrf"],
            "client_name": client.name if client else tx["client_id"],
            "demo_email": DEMO_EMAIL,
            "demo_password": DEMO_PASSWORD,
            "google_demo_email": GOOGLE_DEMO_EMAIL,
            "google_demo_name": GOOGLE_DEMO_NAME,
            "email": "",
            "name": "",
            "error": "",
        }

    async def login_page(self, request: Request) -> Response:
        tx_id, tx, form = await self._transaction(request)
        if tx is None:
            return self._expired_page()
        context = self._page_context(tx_id, tx)
        if form is None:
            return pages.render("login.html", **context)
        email = str(form.get("username") or "").strip()[:320]
        password = str(form.get("password") or "")
        context["email"] = email
        if not email or not password:
            context["error"] = "Enter your email address and password."
            return pages.render("login.html", 400, **context)
        outcome, user = await run_in_threadpool(self.users.authenticate, DATABASE_CONNECTION, email, password[:1024])
        if outcome == "blocked":
            context["error"] = BLOCKED_DESCRIPTION
            return pages.render("login.html", 429, **context)
        if outcome != "ok" or user is None:
            context["error"] = WRONG_PASSWORD
            return pages.render("login.html", 403, **context)
        try:
            return self._login_and_redirect(tx_id, user)
        except LookupError:
            return self._expired_page()

    async def signup_page(self, request: Request) -> Response:
        tx_id, tx, form = await self._transaction(request)
        if tx is None:
            return self._expired_page()
        context = self._page_context(tx_id, tx)
        if form is None:
            return pages.render("signup.html", **context)
        email = str(form.get("email") or "").strip()[:320]
        password = str(form.get("password") or "")
        context["email"] = email
        if not _valid_email(email) or not password:
            context["error"] = "Enter a valid email address and a password."
            return pages.render("signup.html", 400, **context)
        ok, _ = password_rules(password)
        if not ok:
            context["error"] = "Password is too weak: " + POLICY_TEXT.replace("\n", " ").replace("*", "")
            return pages.render("signup.html", 400, **context)
        try:
            user = await run_in_threadpool(self.users.create, DATABASE_CONNECTION, email, password[:1024])
        except UserExists:
            context["error"] = "The user already exists."
            return pages.render("signup.html", 400, **context)
        try:
            return self._login_and_redirect(tx_id, user)
        except LookupError:
            return self._expired_page()

    async def google_page(self, request: Request) -> Response:
        tx_id, tx, form = await self._transaction(request)
        if tx is None:
            return self._expired_page()
        context = self._page_context(tx_id, tx)
        if form is None:
            return pages.render("google.html", **context)
        if form.get("account") == "demo":
            email, name = GOOGLE_DEMO_EMAIL, GOOGLE_DEMO_NAME
        else:
            email = str(form.get("email") or "").strip().lower()[:320]
            name = str(form.get("name") or "").strip()[:200] or email.split("@", 1)[0]
            context.update(email=email, name=name)
            if not _valid_email(email):
                context["error"] = "Enter a valid email address."
                return pages.render("google.html", 400, **context)
        digits = str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:21]
        user = await run_in_threadpool(
            self.users.upsert_social, GOOGLE_CONNECTION, f"{GOOGLE_CONNECTION}|{digits}", email, name
        )
        try:
            return self._login_and_redirect(tx_id, user)
        except LookupError:
            return self._expired_page()

    async def cancel(self, request: Request) -> Response:
        tx_id, tx, _ = await self._transaction(request)
        if tx is None:
            return self._expired_page()
        self._transactions.pop(tx_id, None)
        return self._redirect_to_client(
            tx["redirect_uri"],
            {"error": "access_denied", "error_description": "The user cancelled the login.", "state": tx["state"]},
        )

    # ---- /oauth/token ------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        try:
            return await self._token(request)
        except OAuthError as exc:
            return exc.response()

    async def _token(self, request: Request) -> Response:
        body = await _read_params(request)
        client = self._authenticate_client(request, body)
        grant = _param(body, "grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant not in DEFAULT_GRANTS:
            raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        if grant not in client.grant_types:
            raise OAuthError(403, "unauthorized_client", f"Grant type '{grant}' not allowed for the client.")
        if grant == "authorization_code":
            return self._code_grant(client, body)
        return await self._password_grant(client, body, grant)

    def _authenticate_client(self, request: Request, body: dict) -> Client:
        client_id = _param(body, "client_id")
        secret = _param(body, "client_secret")
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
                basic_id, basic_secret = decoded.split(":", 1)
            except ValueError:
                raise OAuthError(401, "access_denied", "Unauthorized") from None
            from urllib.parse import unquote_plus

            basic_id, basic_secret = unquote_plus(basic_id), unquote_plus(basic_secret)
            if client_id and client_id != basic_id:
                raise OAuthError(400, "invalid_request", "client_id in body and header do not match")
            client_id, secret = basic_id, basic_secret
        if not client_id:
            raise OAuthError(401, "access_denied", "Unauthorized")
        client = self.clients.get(client_id)
        if client is None or not secret or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError(401, "access_denied", "Unauthorized")
        return client

    def _code_grant(self, client: Client, body: dict) -> Response:
        code = _param(body, "code")
        if not code:
            raise OAuthError(400, "invalid_request", "Missing required parameter: code")
        redirect_uri = _param(body, "redirect_uri")
        verifier = _param(body, "code_verifier")
        with self._lock:
            grant = self._codes.pop(code, None)  # single use, even when the exchange fails below
        if grant is None or grant["expires"] < self._now():
            raise OAuthError(403, "invalid_grant", "Invalid authorization code")
        if grant["client_id"] != client.client_id:
            raise OAuthError(403, "invalid_grant", "Invalid authorization code")
        if redirect_uri != grant["redirect_uri"]:
            raise OAuthError(403, "invalid_grant", "Invalid redirect_uri")
        challenge = grant["code_challenge"]
        if challenge is None:
            if verifier:
                raise OAuthError(403, "invalid_grant", "Failed to verify code verifier")
        else:
            if not verifier:
                raise OAuthError(403, "invalid_grant", "Missing required parameter: code_verifier")
            computed = _b64url(hashlib.sha256(verifier.encode()).digest())
            if not hmac.compare_digest(computed, challenge):
                raise OAuthError(403, "invalid_grant", "Failed to verify code verifier")
        return self._token_response(
            client,
            grant["user"],
            grant["scope"],
            nonce=grant["nonce"],
            sid=grant["sid"],
            auth_time=grant["auth_time"],
        )

    async def _password_grant(self, client: Client, body: dict, grant: str) -> Response:
        username = _param(body, "username")
        password = _param(body, "password")
        if grant == PASSWORD_REALM_GRANT:
            realm = _param(body, "realm")
            if not realm:
                raise OAuthError(400, "invalid_request", "Missing required parameter: realm")
        else:
            realm = DATABASE_CONNECTION
        if not username:
            raise OAuthError(400, "invalid_request", "Missing required parameter: username")
        if not password:
            raise OAuthError(400, "invalid_request", "Missing required parameter: password")
        if realm != DATABASE_CONNECTION:
            raise OAuthError(400, "invalid_request", "the connection was not found")
        outcome, user = await run_in_threadpool(self.users.authenticate, realm, username, password[:1024])
        if outcome == "blocked":
            raise OAuthError(429, "too_many_attempts", BLOCKED_DESCRIPTION)
        if outcome != "ok" or user is None:
            raise OAuthError(403, "invalid_grant", WRONG_PASSWORD)
        scope = _param(body, "scope") or DEFAULT_SCOPE
        return self._token_response(
            client, user, scope, nonce=None, sid=secrets.token_urlsafe(24), auth_time=int(self._now())
        )

    def _token_response(
        self, client: Client, user: dict, scope: str, *, nonce: str | None, sid: str, auth_time: int
    ) -> Response:
        now = self._now()
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._sweep(self._access_tokens)
            self._access_tokens[access_token] = {
                "user": user,
                "scope": scope,
                "client_id": client.client_id,
                "expires": now + ACCESS_TOKEN_TTL,
            }
        answer: dict[str, Any] = {"access_token": access_token}
        if "openid" in scope.split():
            claims = {
                **self._profile_claims(user, scope),
                "iss": self.issuer,
                "aud": client.client_id,
                "iat": int(now),
                "exp": int(now) + ID_TOKEN_TTL,
                "sid": sid,
                "auth_time": auth_time,
            }
            if nonce:
                claims["nonce"] = nonce
            answer["id_token"] = self._sign_id_token(client, claims)
        answer.update(scope=scope, expires_in=ACCESS_TOKEN_TTL, token_type="Bearer")
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _profile_claims(user: dict, scope: str) -> dict:
        scopes = set(scope.split())
        claims: dict[str, Any] = {}
        if "profile" in scopes:
            for name in ("name", "nickname", "picture", "updated_at", "given_name", "family_name"):
                if user.get(name) is not None:
                    claims[name] = user[name]
        if "email" in scopes:
            claims["email"] = user["email"]
            claims["email_verified"] = bool(user.get("email_verified"))
        claims["sub"] = user["user_id"]
        return claims

    def _sign_id_token(self, client: Client, claims: dict) -> str:
        faults = self.faults
        signing = "rs256"
        if faults is not None:
            claims = {**claims, **faults.id_token_claims}
            for name in faults.id_token_remove:
                claims.pop(name, None)
            signing = faults.signing
        key = self.keys.current
        if signing == "none":
            header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            payload = _b64url(json.dumps(claims).encode())
            return f"{header}.{payload}."
        if signing == "hs256_client_secret":
            secret = jwk.OctKey.import_key(client.client_secret)
            return jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
        if signing == "foreign_key":
            foreign = self.keys.foreign_key()
            return jwt.encode({"alg": "RS256", "kid": foreign.kid}, claims, foreign)
        if signing == "no_kid":
            return jwt.encode({"alg": "RS256"}, claims, key)
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if signing == "bad_signature":
            head, payload, signature = token.split(".")
            raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
            raw[len(raw) // 2] ^= 0x01
            token = f"{head}.{payload}.{_b64url(bytes(raw))}"
        return token

    # ---- /userinfo ---------------------------------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        entry = self._access_tokens.get(token) if token else None
        if entry is None or entry["expires"] < self._now():
            challenge = 'Bearer realm="Auth0"' if not token else 'Bearer error="invalid_token"'
            return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": challenge})
        claims = self._profile_claims(entry["user"], entry["scope"])
        if self.faults is not None:
            claims.update(self.faults.userinfo_claims)
        return JSONResponse(claims, headers={"Cache-Control": "no-store"})

    # ---- /dbconnections/signup ---------------------------------------------------------------

    async def signup_api(self, request: Request) -> Response:
        def error(code: str, description: Any, name: str = "BadRequestError", status: int = 400, **extra):
            body = {"name": name, "code": code, "description": description, **extra, "statusCode": status}
            return JSONResponse(body, status_code=status)

        try:
            body = await _read_params(request)
        except OAuthError as exc:
            return error("invalid_body", exc.description, status=exc.status if exc.status != 401 else 400)
        client_id = _param(body, "client_id")
        if not client_id or client_id not in self.clients:
            return error("invalid_request", "Unknown client" if client_id else "Missing client_id")
        connection = _param(body, "connection")
        if not connection:
            return error("invalid_request", "Missing connection")
        if connection != DATABASE_CONNECTION:
            return error("invalid_connection", "Connection does not exist")
        email = _param(body, "email")
        password = _param(body, "password")
        if not email:
            return error("invalid_request", "Missing email")
        if not password:
            return error("invalid_request", "Missing password")
        if not _valid_email(email):
            return error("invalid_signup", "Invalid sign up")
        ok, description = password_rules(password)
        if not ok:
            return error(
                "invalid_password",
                description,
                name="PasswordStrengthError",
                message="Password is too weak",
                policy=POLICY_TEXT,
            )
        profile = {}
        for name in ("name", "nickname", "given_name", "family_name", "username"):
            value = body.get(name)
            if isinstance(value, str) and value.strip():
                profile[name] = value.strip()[:200]
        try:
            user = await run_in_threadpool(self.users.create, connection, email, password[:1024], **profile)
        except UserExists:
            return error("user_exists", "The user already exists.")
        answer = {"_id": user["user_id"].split("|", 1)[1], "email_verified": False, "email": user["email"]}
        for name in ("username", "given_name", "family_name", "name", "nickname"):
            if name in profile:
                answer[name] = profile[name]
        return JSONResponse(answer)

    # ---- logout ------------------------------------------------------------------------------

    def _end_session(self, request: Request) -> None:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            self._sessions.pop(sid, None)

    def _logout_response(self, request: Request, target: Response) -> Response:
        self._end_session(request)
        target.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return target

    def _logged_out_page(self) -> Response:
        return pages.message_page(
            "You are logged out", "Your session at the local dev tenant has ended.", status_code=200
        )

    async def logout_v2(self, request: Request) -> Response:
        params = request.query_params
        return_to = params.get("returnTo")
        if not return_to:
            return self._logout_response(request, self._logged_out_page())
        client = self.clients.get(params.get("client_id", ""))
        if client is None or not client.allows_logout(return_to):
            return self._logout_response(
                request,
                pages.message_page(
                    "Oops!, something went wrong",
                    f'The "returnTo" querystring parameter "{return_to}" is not defined as a valid URL in '
                    '"Allowed Logout URLs".',
                    error="invalid_request",
                    hint="Add the URL to the application's Allowed Logout URLs, and pass its client_id.",
                ),
            )
        return self._logout_response(request, RedirectResponse(return_to, status_code=302))

    async def logout_oidc(self, request: Request) -> Response:
        params: dict = dict(request.query_params)
        if request.method == "POST":
            params.update(await _read_params(request, json_ok=False))
        target = params.get("post_logout_redirect_uri")
        if not target:
            return self._logout_response(request, self._logged_out_page())
        client_id = params.get("client_id") or self._client_from_hint(params.get("id_token_hint"))
        client = self.clients.get(client_id or "")
        if client is None or not client.allows_logout(target):
            return self._logout_response(
                request,
                pages.message_page(
                    "Oops!, something went wrong",
                    f'The "post_logout_redirect_uri" parameter "{target}" is not defined as a valid URL in '
                    '"Allowed Logout URLs".',
                    error="invalid_request",
                    hint="Add the URL to the application's Allowed Logout URLs, and pass its client_id.",
                ),
            )
        return self._logout_response(request, self._redirect_to_client(target, {"state": params.get("state")}))

    def _client_from_hint(self, hint: str | None) -> str | None:
        if not hint:
            return None
        try:
            token = jwt.decode(hint, jwk.KeySet(list(self.keys.keys)), algorithms=["RS256"])
        except Exception:
            return None
        aud = token.claims.get("aud")
        if isinstance(aud, list):
            aud = aud[0] if len(aud) == 1 else token.claims.get("azp")
        return aud if isinstance(aud, str) else None

    # ---- test-only API -----------------------------------------------------------------------

    async def test_faults(self, request: Request) -> Response:
        assert self.faults is not None
        if request.method == "DELETE":
            self.faults.reset()
            return JSONResponse({"ok": True})
        try:
            fields = json.loads(await request.body())
            if not isinstance(fields, dict):
                raise ValueError("body must be a JSON object")
            self.faults.update(**fields)
        except ValueError as exc:
            return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def test_rotate_key(self, request: Request) -> Response:
        kid = await run_in_threadpool(self.rotate_key)
        return JSONResponse({"kid": kid})


def _valid_email(email: str) -> bool:
    if not email or len(email) > 320 or any(c.isspace() for c in email):
        return False
    local, _, domain = email.rpartition("@")
    return bool(local) and "." in domain and not domain.startswith(".") and not domain.endswith(".")


def _param(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OAuthError(400, "invalid_request", f"Invalid parameter: {name} must be a string")
    return value


async def _read_params(request: Request, json_ok: bool = True) -> dict:
    """Read a form or JSON body, with a size limit; errors in Auth0's OAuth error shape."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise OAuthError(413, "invalid_request", "Request body too large")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise OAuthError(413, "invalid_request", "Request body too large")
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not raw:
        return {}
    if ctype == "application/json" and json_ok:
        try:
            data = json.loads(raw)
        except ValueError:
            raise OAuthError(400, "invalid_request", "Malformed JSON body") from None
        if not isinstance(data, dict):
            raise OAuthError(400, "invalid_request", "The JSON body must be an object")
        return data
    if ctype == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", "Malformed form body") from None
    raise OAuthError(415, "invalid_request", f"Unsupported content type: {ctype or 'none'}")
