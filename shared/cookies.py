"""Cookie helpers every step uses: the `__Host-` prefix over https, and the 4 KB size guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import CookieTooLarge

MAX_COOKIE_BYTES = 4096  # browsers silently drop a cookie larger than this (RFC 6265 §6.1 minimum)
ID_TOKEN_MAX_AGE = 10 * 60 * 60  # seconds: Auth0's id_token lifetime; the cookie need not outlive it


def cookie_name(name: str, *, secure: bool) -> str:
    """`name`, with the `__Host-` prefix when the app is served over https.

    Browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain: a sibling subdomain
    cannot plant or overwrite it. Plain http (localhost) cannot use the prefix at all.
    """
    return f"__Host-{name}" if secure else name


class RefuseOversizedCookies:
    """Answer with the app's 400 page, instead, any response carrying a cookie the browser would drop.

    A browser silently ignores a Set-Cookie over 4 KB: the login would seem to work, and the next
    page would be logged out. The factory puts this outside SessionMiddleware, so it measures what
    really goes out — the plain id_token cookie, and Starlette's signed cookie (the wrapper's
    id_token, /userinfo's display claims) — once, instead of each place that writes a cookie
    estimating it. The refused response's cookies never reach the browser: nothing is stored.
    """

    def __init__(self, app: ASGIApp, *, page: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused: CookieTooLarge | None = None

        async def send_unless_too_large(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                size = max((len(value) for name, value in headers if name.lower() == b"set-cookie"), default=0)
                if size > MAX_COOKIE_BYTES:
                    refused = CookieTooLarge(size, MAX_COOKIE_BYTES)
            if refused is None:
                await send(message)

        await self.app(scope, receive, send_unless_too_large)
        if refused is not None:
            response = await self.page(Request(scope, receive), refused)
            await response(scope, receive, send)
