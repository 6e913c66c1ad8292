"""GET /authorize: check the request, then answer from the SSO session or send the browser to a hosted page."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import templating
from .clients import DEFAULT_SCOPE
from .defaults import DATABASE_CONNECTION, GOOGLE_CONNECTION
from .enforcement import callback_mismatch, connection_disabled
from .models import CODE_TTL, SSO_TTL, TRANSACTION_TTL, AuthorizationCode, SsoSession, Transaction, User
from .params import MAX_PARAM

if TYPE_CHECKING:
    from .server import DevTenant

# Cookie names carry a prefix: the tenant (localhost:4000) and the apps (localhost:3000) share
# one browser cookie jar, because browsers ignore ports for cookies.
SESSION_COOKIE = "devtenant_session"
BROWSER_COOKIE = "devtenant_browser"


def redirect_to_client(redirect_uri: str, params: dict[str, str | None]) -> RedirectResponse:
    """A 302 to a URL the client registered, keeping any query it already has."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


class Authorize:
    """GET /authorize, and the SSO session the hosted pages start when a user logs in."""

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        return [Route("/authorize", self.authorize)]

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        client_id = params.get("client_id", "")
        client = self.tenant.clients.get(client_id)
        # Without a known client and an allowed redirect_uri there is nowhere safe to send an error:
        # a page, never a redirect (an open redirector otherwise).
        if client is None:
            description = "Unknown client: the client_id is missing or not registered at this tenant."
            self.tenant.logs.record("f", description, request=request, client_id=client_id)
            return templating.message_page("Something went wrong", description, error="invalid_request")
        redirect_uri = params.get("redirect_uri", "")
        if not client.allows_callback(redirect_uri):
            return callback_mismatch(self.tenant, request, client_id, redirect_uri)
        state = params.get("state")
        if state is not None and len(state) > MAX_PARAM:  # kept for 30 minutes otherwise: refused, not echoed
            description = f"state is too long (at most {MAX_PARAM} characters)"
            return redirect_to_client(redirect_uri, {"error": "invalid_request", "error_description": description})

        def fail(error: str, description: str) -> RedirectResponse:
            return redirect_to_client(redirect_uri, {"error": error, "error_description": description, "state": state})

        for name in ("nonce", "scope", "prompt"):
            if len(params.get(name) or "") > MAX_PARAM:
                return fail("invalid_request", f"{name} is too long (at most {MAX_PARAM} characters)")

        response_type = params.get("response_type")
        if not response_type:
            return fail("invalid_request", "Missing required parameter: response_type")
        if response_type != "code":
            return fail("unsupported_response_type", f"Unsupported response type: {response_type}")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None:
            # `plain` would let anyone who sees the authorization request redeem the code.
            if (method or "plain") != "S256":
                return fail("invalid_request", "Unsupported code_challenge_method: only S256 is allowed")
            if not 43 <= len(challenge) <= 128:
                return fail("invalid_request", "Invalid code_challenge")
        elif method is not None:
            return fail("invalid_request", "Missing required parameter: code_challenge")
        # `connection` is Auth0's: a generic provider ignores it, as unknown parameters are (RFC 6749 §3.1).
        connection = (None if self.tenant.generic else params.get("connection")) or DATABASE_CONNECTION
        if connection not in (DATABASE_CONNECTION, GOOGLE_CONNECTION):
            return fail("invalid_request", "the connection was not found")
        if not client.allows_connection(connection):
            return connection_disabled(self.tenant, request, client_id, connection, fail)
        prompt = set((params.get("prompt") or "").split())
        tx = Transaction(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            nonce=params.get("nonce"),
            scope=params.get("scope") or DEFAULT_SCOPE,
            code_challenge=challenge,
            connection=connection,
            csrf=secrets.token_urlsafe(24),
            expires=self.tenant.now() + TRANSACTION_TTL,
        )
        session = self.current_session(request)
        requested = None if self.tenant.generic else params.get("connection")
        if session is not None and requested and session.user.connection != requested:
            session = None  # the app asked for another connection: that needs a new login
        if "none" in prompt:
            if session is None:
                self.tenant.logs.record("fsa", "Login required", request=request, client_id=client_id)
                return fail("login_required", "Login required")
            self.tenant.logs.record("ssa", "", request=request, client_id=client_id, user=session.user)
            return self.issue_code(tx, session)
        if session is not None and "login" not in prompt:
            self.tenant.logs.record(
                "s",
                "Logged in with the tenant's session (no password asked)",
                request=request,
                client_id=client_id,
                user=session.user,
            )
            return self.issue_code(tx, session)

        # The transaction is bound to this browser: a login form posted from another one is refused.
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        tx.browser = browser
        tx_id = secrets.token_urlsafe(24)
        self.tenant.transactions.put(tx_id, tx)
        page = "/u/google" if connection == GOOGLE_CONNECTION else "/u/login"
        response = RedirectResponse(f"{page}?{urlencode({'state': tx_id})}", status_code=302)
        if request.cookies.get(BROWSER_COOKIE) != browser:
            response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="lax", path="/")
        return response

    def current_session(self, request: Request) -> SsoSession | None:
        sid = request.cookies.get(SESSION_COOKIE)
        return self.tenant.sessions.get(sid) if sid else None

    def issue_code(self, tx: Transaction, session: SsoSession) -> RedirectResponse:
        code = secrets.token_urlsafe(24)
        self.tenant.codes.put(
            code,
            AuthorizationCode(
                client_id=tx.client_id,
                redirect_uri=tx.redirect_uri,
                code_challenge=tx.code_challenge,
                nonce=tx.nonce,
                scope=tx.scope,
                user=session.user,
                sid=session.sid,
                auth_time=session.auth_time,
                expires=self.tenant.now() + CODE_TTL,
            ),
        )
        return redirect_to_client(tx.redirect_uri, {"code": code, "state": tx.state})

    def log_in(self, tx_id: str, user: User) -> RedirectResponse:
        """End a hosted-page login: start an SSO session and send the code to the app.
        Raises LookupError when the transaction was used meanwhile (a double submit)."""
        tx = self.tenant.transactions.pop(tx_id)
        if tx is None:
            raise LookupError(tx_id)
        now = self.tenant.now()
        session = SsoSession(sid=secrets.token_urlsafe(24), user=user, auth_time=int(now), expires=now + SSO_TTL)
        self.tenant.sessions.put(session.sid, session)
        response = self.issue_code(tx, session)
        response.set_cookie(SESSION_COOKIE, session.sid, max_age=SSO_TTL, httponly=True, samesite="lax", path="/")
        return response

    async def end_replaced(self, sid: str) -> None:
        """A login in this browser has just started a new SSO session: end the one its cookie named, and tell
        that session's apps. One browser, one tenant session: the new cookie overwrites the old one, and
        an SSO session no cookie names any more is one that nothing in this browser could log out of."""
        ended = self.tenant.sessions.pop(sid) if sid else None
        if ended is not None:
            await self.tenant.backchannel.session_ended(ended)
