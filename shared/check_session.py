"""Run the step's Check Session once per request, before any page: the Starlette way (`request.user`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import profile
from shared.errors import LoginError, TenantUnavailable
from shared.tokens import Claims

Record = TypeVar("Record")


@dataclass(frozen=True)
class SessionCheck(Generic[Record]):
    """What Check Session found on this request: an open session's claims (and, in step 03, its
    server record), or no claims and, when it just ended one, why — for the page to say so."""

    claims: Claims | None
    record: Record | None = None
    ended: str | None = None


# The step's three functions: read the stored id_token back; check it (a SessionCheck, or just its
# claims: None is logged out); erase it.
ReadIdToken = Callable[[Request], str | None]
CheckSession = Callable[[Request, str], Awaitable[SessionCheck[Any] | Claims | None]]
EraseIdToken = Callable[[Request, Response], None]

SCOPE_KEY = "session_check"  # where the middleware leaves this request's SessionCheck


def session_check(request: Request) -> SessionCheck[Any]:
    """This request's SessionCheck, set once by CheckSessionMiddleware before any route runs."""
    found = request.scope.get(SCOPE_KEY)
    return found if isinstance(found, SessionCheck) else SessionCheck(None)


class CheckSessionMiddleware:
    """Set `request.user` to what the step's Check Session says of the stored id_token, on every request.

    Like Starlette's AuthenticationMiddleware (and flaskr's `load_logged_in_user`), every page,
    redirect and error page sees the same answer. `request.user` is the verified claims themselves
    (or None), not a Starlette BaseUser: the pages show the id_token's claims as the tenant sent
    them (`user.email`, `user.sub`), and there are no scopes or permissions a BaseUser and its
    AuthCredentials would carry. The rest of the answer (step 03's record, why a session ended) is
    `session_check(request)`.

    A stored id_token that fails the check is erased on whatever response the request produces: a
    cookie is user input, and one that failed once would fail again on every request.
    """

    def __init__(self, app: ASGIApp, *, read: ReadIdToken, check: CheckSession, erase: EraseIdToken) -> None:
        self.app = app
        self.read = read
        self.check = check
        self.erase = erase
        self.with_error_pages: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.with_error_pages is None:
            # What Check Session raises (a record store that does not answer: 503; the exercise's
            # NotWrittenYet) happens before the routes, outside the ExceptionMiddleware Starlette
            # puts around them. A second one, with the app's own handlers, makes it the same error
            # page a route would get (the most specific handler). Starlette leaves the handler for
            # Exception to its ServerErrorMiddleware: so does this one.
            handlers = scope["app"].exception_handlers
            kept = {kind: handler for kind, handler in handlers.items() if kind not in (500, Exception)}
            self.with_error_pages = ExceptionMiddleware(self.check_then_serve, handlers=kept)
        await self.with_error_pages(scope, receive, send)

    async def check_then_serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        id_token = self.read(request)
        try:
            answer = await self.check(request, id_token) if id_token else None
        except (TenantUnavailable, LoginError):
            # The tenant cannot be asked (down, or misconfigured): the session is not trusted on this
            # request, and not erased either — it may be fine once the tenant answers again. Pages show
            # logged out; Log In and Log Out say what is wrong.
            answer = None
            id_token = None
        found = answer if isinstance(answer, SessionCheck) else SessionCheck(answer)
        if found.claims is not None:
            # Display claims /userinfo gave at login, for this same verified `sub` only (shared/profile.py).
            found = replace(found, claims=profile.attach(request, found.claims))
        else:
            profile.forget(request)
        scope[SCOPE_KEY] = found
        scope["user"] = found.claims
        if not id_token or found.claims is not None:
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
