"""Run the step's Check Session once per request, before any page: the Starlette way (`request.user`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import profile
from shared.errors import LoginError, TenantUnavailable
from shared.tokens import Claims

# The step's three functions: read the stored id_token back; check it (its claims, or None: logged
# out); erase it.
ReadIdToken = Callable[[Request], str | None]
CheckSession = Callable[[Request, str], Awaitable[Claims | None]]
EraseIdToken = Callable[[Request, Response], None]


class CheckSessionMiddleware:
    """Set `request.user` to what the step's Check Session says of the stored id_token, on every request.

    Like Starlette's AuthenticationMiddleware (and flaskr's `load_logged_in_user`), every page,
    redirect and error page sees the same answer. A stored id_token that fails the check is erased on
    whatever response the request produces: a cookie is user input, and one that failed once would
    fail again on every request.
    """

    def __init__(self, app: ASGIApp, *, read: ReadIdToken, check: CheckSession, erase: EraseIdToken) -> None:
        self.app = app
        self.read = read
        self.check = check
        self.erase = erase

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        id_token = self.read(request)
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
            # E.g. a record store that does not answer (503): raised before the routes, where Starlette's
            # ExceptionMiddleware cannot see it, so the app's own handler draws the page. Never a 500.
            # The most specific handler, as ExceptionMiddleware would pick it.
            handlers = request.app.exception_handlers
            handler = next(handlers[kind] for kind in type(error).__mro__ if kind in handlers)
            response: Response = await handler(request, error)
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

        # Erase now (a signed cookie is changed in place), and put any Set-Cookie this makes *before*
        # the page's own: a page that stores a new id_token (the login callback) still wins.
        erasure = Response()
        self.erase(request, erasure)
        set_cookies = [(name, value) for name, value in erasure.raw_headers if name == b"set-cookie"]

        async def send_with_erasure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*set_cookies, *message.get("headers", [])]
            await send(message)

        await self.app(scope, receive, send_with_erasure)
