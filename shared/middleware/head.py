"""HEAD is GET without the body (RFC 9110 §9.3.2), also for handlers that branch on the method.

Starlette routes a HEAD to a GET handler but leaves `request.method` as "HEAD"; a step's Log Out reads
"not GET" as "a post" and refused it with a 403 page. Handing every handler a GET, and dropping the body
on the way out, makes HEAD answer exactly what GET would: its status, its headers, no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD, and so sends no body either.
        await self.app({**scope, "method": "GET"}, receive, without_body)
