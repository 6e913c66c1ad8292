"""The step's signed cookie (Starlette's SessionMiddleware, `request.session`): removing one it cannot read."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ForgetUnreadableSignedCookie:
    """Delete a signed cookie that SessionMiddleware could not read (bad signature, truncated, garbage).

    SessionMiddleware treats such a cookie as an empty session but never removes it, so the browser
    would send it forever. Installed outside SessionMiddleware, this sees the session it loaded.
    """

    def __init__(self, app: ASGIApp, *, cookie: str, secure: bool) -> None:
        self.app = app
        self.cookie = cookie
        self.marker = f"{cookie}=".encode()
        self.deletion = f"{cookie}=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
        if secure:
            self.deletion += "; secure"

    def _may_carry_cookie(self, scope: Scope) -> bool:
        """A look at the raw header first: a request without the signed cookie needs no parsing."""
        return any(name == b"cookie" and self.marker in value for name, value in scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self._may_carry_cookie(scope)
            or self.cookie not in HTTPConnection(scope).cookies
        ):
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and not scope.get("session"):
                headers = MutableHeaders(scope=message)
                if not any(value.startswith(f"{self.cookie}=") for value in headers.getlist("set-cookie")):
                    headers.append("set-cookie", self.deletion)
            await send(message)

        await self.app(scope, receive, send_wrapper)
