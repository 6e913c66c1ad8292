"""GET /userinfo (Bearer access token) and POST /dbconnections/signup (Auth0.js's sign-up call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .defaults import DATABASE_CONNECTION
from .enforcement import CONNECTION_DISABLED
from .flow_log import log_signup
from .oauth_errors import OAuthError, api_error
from .params import Params, param, read_params, valid_email
from .users import POLICY_TEXT, UserExists, password_rules

if TYPE_CHECKING:
    from .server import DevTenant

# Profile fields a sign-up may set, in the order Auth0 echoes them back.
SIGNUP_FIELDS = ("username", "given_name", "family_name", "name", "nickname")
MAX_FIELD = 200


class UserinfoAndSignup:
    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        return [
            Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
            Route("/dbconnections/signup", self.signup, methods=["POST"]),
        ]

    async def userinfo(self, request: Request) -> Response:
        """The profile claims the access token's scope allows."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        entry = self.tenant.access_tokens.get(token) if token else None
        if entry is not None and entry.sid is not None and not self.tenant.session_alive(entry.sid):
            entry = None  # its SSO session has ended: the login it stood for is over
        if entry is None:
            # RFC 6750 §3.1: no error code when no token was sent at all.
            challenge = 'Bearer realm="Auth0"' if not token else 'Bearer error="invalid_token"'
            return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": challenge})
        claims = entry.user.claims(entry.scope)
        if self.tenant.faults is not None:
            claims.update(self.tenant.faults.userinfo_claims)
        return JSONResponse(claims, headers={"Cache-Control": "no-store"})

    async def signup(self, request: Request) -> Response:
        """Create a database user; Auth0's answer (no tokens: the app logs the user in next)."""
        body: Params = {}
        try:
            body = await read_params(request)
            response = await self._signup(body)
        except OAuthError as exc:  # a body that is not JSON or a form, or a field that is not a string
            response = api_error("invalid_body", exc.description, status=exc.status)
        log_signup(self.tenant, request, body, response)
        return response

    async def _signup(self, body: Params) -> Response:
        client_id = param(body, "client_id")
        if not client_id or client_id not in self.tenant.clients:
            return api_error("invalid_request", "Unknown client" if client_id else "Missing client_id")
        connection = param(body, "connection")
        if not connection:
            return api_error("invalid_request", "Missing connection")
        if connection != DATABASE_CONNECTION:
            return api_error("invalid_connection", "Connection does not exist")
        if not self.tenant.clients[client_id].allows_connection(connection):
            return api_error("invalid_connection", CONNECTION_DISABLED)
        email = param(body, "email")
        password = param(body, "password")
        if not email:
            return api_error("invalid_request", "Missing email")
        if not password:
            return api_error("invalid_request", "Missing password")
        if not valid_email(email):
            return api_error("invalid_signup", "Invalid sign up")
        ok, description = password_rules(password)
        if not ok:
            return api_error(
                "invalid_password",
                description,
                name="PasswordStrengthError",
                message="Password is too weak",
                policy=POLICY_TEXT,
            )
        profile: dict[str, str] = {}
        for name in SIGNUP_FIELDS:
            value = body.get(name)
            if isinstance(value, str) and value.strip():
                profile[name] = value.strip()[:MAX_FIELD]
        try:
            user = await run_in_threadpool(
                self.tenant.users.create,
                connection,
                email,
                password,
                username=profile.get("username"),
                given_name=profile.get("given_name"),
                family_name=profile.get("family_name"),
                name=profile.get("name"),
                nickname=profile.get("nickname"),
            )
        except UserExists:
            return api_error("user_exists", "The user already exists.")
        answer: dict[str, Any] = {"_id": user.user_id.split("|", 1)[1], "email_verified": False, "email": user.email}
        answer.update(profile)
        return JSONResponse(answer)
