"""Check Session, once per request, before any page runs: the Starlette way (`request.user`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import profile
from shared.oidc import LoginError, TenantUnavailable
from shared.storage import TokenStorage
from shared.tokens import Claims, TokenError

# Given the request and the id_token the storage read back: the claims, or None when the session must end.
SessionCheck = Callable[[Request, str], Awaitable[Claims | None]]


async def verify_id_token(request: Request, id_token: str) -> Claims | None:
    """The id_token still verifies (signature, issuer, audience, expiry): its claims, else None."""
    try:
        claims: Claims = await request.app.state.oidc.verify(id_token)
    except TokenError:
        return None
    return claims


class CheckSession:
    """Set `request.user` to the stored session's verified claims, or None.

    Like Starlette's AuthenticationMiddleware (and flaskr's `load_logged_in_user`), it runs for every
    request, so every page, redirect and error page sees the same answer. A stored session that fails
    the check is erased on whatever response the request produces: a cookie is user input, and one that
    failed once would fail again on every request.
    """

    def __init__(self, app: ASGIApp, *, storage: TokenStorage, check: SessionCheck = verify_id_token) -> None:
        self.app = app
        self.storage = storage
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        id_token = self.storage.read(request)
        try:
            scope["user"] = await self.check(request, id_token) if id_token else None
        except (TenantUnavailable, LoginError):
            # The tenant cannot be asked (down, or misconfigured): the session is not trusted on this
            # request, and not erased either — it may be fine once the tenant answers again. Pages show
            # logged out; Log In and Log Out say what is wrong.
            scope["user"] = None
            await self.app(scope, receive, send)
            return
        except HTTPException as error:
            # E.g. a session store that does not answer (503): raised before the routes, where Starlette's
            # ExceptionMiddleware cannot see it, so the app's own handler draws the page. Never a 500.
            response: Response = await request.app.exception_handlers[HTTPException](request, error)
            await response(scope, receive, send)
            return
        if scope["user"] is not None:
            # Display claims /userinfo gave at login, for this same verified `sub` only (shared/profile.py).
            scope["user"] = profile.attach(request, scope["user"])
        else:
            profile.forget(request)
        if not id_token or scope["user"] is not None:
            await self.app(scope, receive, send)
            return

        # Erase now (a signed session is changed in place), and put any Set-Cookie this makes *before*
        # the page's own: a page that saves a new session (the login callback) still wins.
        erasure = Response()
        self.storage.erase(request, erasure)
        set_cookies = [(name, value) for name, value in erasure.raw_headers if name == b"set-cookie"]

        async def send_with_erasure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*set_cookies, *message.get("headers", [])]
            await send(message)

        await self.app(scope, receive, send_with_erasure)
