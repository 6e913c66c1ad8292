"""Step 03's pages, the same in both storage variants: they call the variant to create, check and end the session.

A variant (`03-Session-Handling/cookie_app.py`, `wrapper_app.py`) is a TokenStorage that also says,
for the learner's panel, which cookie it uses and what that cookie holds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.config import Settings, load_settings
from shared.oidc import TenantUnavailable
from shared.storage import TokenStorage
from shared.tokens import Claims
from shared.web import build_app, current_user, error_page, oidc, render, storage


class SessionVariant(TokenStorage, Protocol):
    cookie: str  # the cookie the browser keeps the session in
    holds: str  # what that cookie holds, in a sentence for the panel


# region: check-session-page
async def homepage(request: Request) -> Response:
    """Check Session, then show Log In, or the user and Log Out; the panel shows where the session lives."""
    user = await current_user(request)
    return render(request, "index.html", user=user, session=session_panel(request, user))


# endregion: check-session-page


async def login(request: Request) -> Response:
    """Redirect to the hosted login page, with state, nonce and a PKCE challenge (Authlib makes them)."""
    return await oidc(request).login_redirect(request)


# region: create-session-page
async def callback(request: Request) -> Response:
    """Create Session: finish the login (state, code, verified id_token), then let the variant store the id_token."""
    id_token, _claims = await oidc(request).finish_login(request)
    response = RedirectResponse("/", status_code=303)
    storage(request).save(request, response, id_token)
    return response


# endregion: create-session-page


# region: logout-page
async def logout(request: Request) -> Response:
    """Logout: forget the session here, then send the browser to the tenant to end its session too.

    Without the second half the tenant's own session cookie stays, and the next Log In signs the user
    straight back in without showing the login form.
    """
    settings: Settings = request.app.state.settings
    try:
        # Only a token that still verifies goes back to the tenant, as id_token_hint.
        id_token = storage(request).read(request) if await current_user(request) else None
        logout_url = await oidc(request).logout_url(id_token, return_to=settings.base_url)
        response: Response = RedirectResponse(logout_url, status_code=303)
    except TenantUnavailable as error:
        response = error_page(
            request,
            503,
            "Logged out of this app only",
            f"{error} Your session at the tenant may still be active: Log In could sign you straight back in.",
        )
    storage(request).erase(request, response)
    return response


# endregion: logout-page


@dataclass(frozen=True)
class SessionPanel:
    """What the learner's panel shows: the variant, its cookie, and when the session ends."""

    variant: str
    cookie: str
    holds: str
    cookie_bytes: int | None = None  # the rest only while someone is logged in
    expires_in: str | None = None
    expires_at: str | None = None
    expires_iso: str | None = None
    # The page shows nothing but this panel and the token's claims, so the session cookie's value
    # (which holds the token) and the remaining time name it completely: see {% cache %} in index.html.
    cache_key: tuple[str, ...] = ()


def session_panel(request: Request, user: Claims | None) -> SessionPanel:
    variant: SessionVariant = storage(request)
    if user is None:
        return SessionPanel(variant.name, variant.cookie, variant.holds, cache_key=("logged out",))
    cookie = request.cookies.get(variant.cookie, "")
    expires_in = _duration(user["exp"] - time.time())
    expires_at, expires_iso = _expiry_texts(user["exp"])
    return SessionPanel(
        variant.name,
        variant.cookie,
        variant.holds,
        cookie_bytes=len(cookie),
        expires_in=expires_in,
        expires_at=expires_at,
        expires_iso=expires_iso,
        cache_key=(cookie, expires_in),
    )


@functools.lru_cache(maxsize=1024)
def _expiry_texts(exp: int) -> tuple[str, str]:
    """The session's end as text; the same for every request of one session, so worked out once."""
    expires = datetime.fromtimestamp(exp, UTC)
    return expires.strftime("%a %d %b %Y, %H:%M:%S UTC"), expires.isoformat()


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


class ForgetUnreadableSession:
    """Delete a `session` cookie that SessionMiddleware could not read (bad signature, truncated, garbage).

    SessionMiddleware treats such a cookie as an empty session but never removes it, so the browser
    would keep sending it. Installed outside SessionMiddleware, this sees the session it loaded.
    """

    def __init__(self, app: ASGIApp, *, secure: bool, cookie: str = "session") -> None:
        self.app = app
        self.cookie = cookie
        self.marker = f"{cookie}=".encode()
        self.deletion = f"{cookie}=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
        if secure:
            self.deletion += "; secure"

    def _may_carry_cookie(self, scope: Scope) -> bool:
        """A cheap look at the raw header first: most requests of the cookie variant carry no `session`."""
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


# region: app
def session_handling_app(
    variant: SessionVariant, *, step: str, templates: Path, settings: Settings | None = None
) -> Starlette:
    """Step 03's app: the same four pages, with the session kept by `variant`."""
    settings = settings or load_settings()
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout),
    ]
    app = build_app(routes, step=step, settings=settings, templates=templates, storage=variant)
    app.add_middleware(ForgetUnreadableSession, secure=settings.https)  # outermost: runs after SessionMiddleware
    return app


# endregion: app
