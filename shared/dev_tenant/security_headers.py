"""Security headers on every answer the tenant gives: pages, JSON, redirects, and its 404s and 405s.

A pure ASGI middleware, so that it sees the answers Starlette itself makes (an unknown path, a wrong
method, the Host check's refusal) as well as the endpoints', and adds a header only where the answer has
none: an endpoint that sets its own (the avatar's cache policy, Auth0's token headers) keeps it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The hosted pages' policy (pages.PAGE_HEADERS sets the same on each page it renders): nothing is loaded
# from elsewhere, forms post only to the tenant or back to an app, and no site may frame the login form.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' http: https:; "
    "frame-ancestors 'none'"
)
EVERY_ANSWER = {
    # A browser must never guess that a JSON error or an avatar is a page and run it.
    "X-Content-Type-Options": "nosniff",
    # /authorize's redirects carry codes and hosted pages carry login transactions in their URLs: no
    # referrer, so none of them travels on to another site.
    "Referrer-Policy": "no-referrer",
}
HTML_ANSWER = {"Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY"}
# Answers that carry tokens, a profile, or a login in progress: never kept by a browser or a proxy.
# The dashboard too: it shows the client secret.
NO_STORE_PATHS = (
    "/oauth/token",
    "/userinfo",
    "/authorize",
    "/u/",
    "/dbconnections/",
    "/v2/logout",
    "/oidc/logout",
    "/dashboard",
    "/dashboard/",
)


def _no_store(path: str) -> bool:
    return any(path == prefix or (prefix.endswith("/") and path.startswith(prefix)) for prefix in NO_STORE_PATHS)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = _no_store(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                wanted = dict(EVERY_ANSWER)
                if headers.get("content-type", "").startswith("text/html"):
                    wanted.update(HTML_ANSWER)
                if no_store:
                    wanted["Cache-Control"] = "no-store"
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
