"""Send every request to the configured host name first, so a login never splits across two of them."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class CanonicalHostMiddleware:
    """Redirect to APP_BASE_URL when the browser used another host name (127.0.0.1 for localhost).

    A login started on 127.0.0.1 and finished on localhost (the callback URL) loses its session cookie:
    browsers keep cookies per host name, and the login fails with "no login in progress". The redirect
    only ever goes to APP_BASE_URL, so a forged Host header cannot become an open redirect.

    `any_host`: paths answered whatever host name they are called by. A server-to-server call (the
    tenant's back-channel logout) carries no cookies and follows no redirect: a 307 would lose it.
    """

    def __init__(self, app: ASGIApp, base_url: str, any_host: Sequence[str] = ()) -> None:
        self.app = app
        self.base_url = base_url
        self.host = base_url.split("://", 1)[1].encode("latin-1")
        self.any_host = frozenset(any_host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] not in self.any_host
            and dict(scope["headers"]).get(b"host") != self.host
        ):
            path = scope.get("raw_path") or scope["path"].encode()
            if not path.startswith(b"/"):
                path = b"/"  # `GET @attacker.example` would make http://localhost:3000@attacker.example
            query = b"?" + scope["query_string"] if scope["query_string"] else b""
            response = RedirectResponse(self.base_url + (path + query).decode("latin-1"), status_code=307)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
