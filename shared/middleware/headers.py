"""The headers every response carries: security headers (composed by `secure`) and no-store on pages.

Every page depends on the session (Log In or the user's name, the form's CSRF token), so none may be
kept by the browser: without `no-store`, Back after Log Out shows the previous user's page from the
cache, and on a shared workshop laptop the next person sees the last one's name and email.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from secure import ContentSecurityPolicy, ReferrerPolicy, Secure, XContentTypeOptions, XFrameOptions
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.config import Settings

NO_STORE = "no-store"
STATIC = "/static/"  # the stylesheet and images: the same for everyone, so the browser may keep them


def security_headers(settings: Settings) -> Secure:
    """The policy for a step's pages: its own files only, forms only to itself and the tenant, never framed."""
    tenant = origin(settings.issuer)
    csp = (
        ContentSecurityPolicy()
        .default_src("'self'")
        .img_src("'self'", "https:", tenant)  # the avatar: the tenant's, Gravatar's or Google's
        .form_action("'self'", tenant)
        .frame_ancestors("'none'")  # no other site can frame the password form (clickjacking)
        .base_uri("'none'")
        .object_src("'none'")
    )
    return Secure(
        csp=csp,
        xfo=XFrameOptions().deny(),  # frame-ancestors, for browsers that predate it
        xcto=XContentTypeOptions().nosniff(),
        # Full referrers only within the app; other sites (the tenant included) get none, so no URL
        # with a code or a token in it travels on. ("no-referrer" would make the browser send
        # `Origin: null` on the app's own form posts, which the CSRF check then refuses.)
        referrer=ReferrerPolicy().set("same-origin"),
    )


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: what browsers send as `Origin` and what CSP sources name."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """The security headers on every answer, and `Cache-Control: no-store` on all but the static files.

    The policy is the same for every response of an app, so its header lines are encoded once here
    and appended as they are; the `secure` package composes them (SecureASGIMiddleware would
    re-encode them on every response, ~15 µs of a ~70 µs page here).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        policy = security_headers(settings).headers.items()
        self.static_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in policy]
        self.page_headers = [*self.static_headers, (b"cache-control", NO_STORE.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC)
        extra = self.static_headers if static else self.page_headers
        replaced = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in replaced]
                message["headers"] = [*kept, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_to(response: Response, settings: Settings) -> Response:
    """The same headers on a response made outside the middleware (Starlette's 500 page is)."""
    security_headers(settings).set_headers(response)
    response.headers["cache-control"] = NO_STORE
    return response
