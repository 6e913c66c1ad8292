"""Step 03's pages, the same in both storage variants: they call the variant to create, check and end the session.

A variant (`cookie_app.py`, `wrapper_app.py`) is a storage — save, read, erase the id_token — plus a
sentence for the learner's panel saying which cookie it uses and what that cookie holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.app import build_app, oidc, storage
from shared.config import Settings
from shared.oidc import LoginError, TenantUnavailable
from shared.pages import error_page, render
from shared.storage import TokenStorage


# region: check-session-page
async def homepage(request: Request) -> Response:
    """Show Log In, or the user and Log Out; the panel shows where the session lives.

    Check Session already ran for this request (shared/session_check.py): request.user holds the
    stored id_token's verified claims, or None — and a token that failed is being erased.
    """
    return render(request, "index.html", session=session_panel(request))


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


NO_PROVIDER_LOGOUT = (
    "You are logged out of this app. The identity provider offers no logout endpoint "
    "(its discovery document has no end_session_endpoint), so your session there may still be active: "
    "Log In could sign you straight back in."
)


# region: logout-page
async def logout(request: Request) -> Response:
    """Logout: forget the session here, then send the browser to the tenant to end its session too.

    Without the second half the tenant's own session cookie stays, and the next Log In signs the user
    straight back in without showing the login form.
    """
    settings: Settings = request.app.state.settings
    # Only a token that passed Check Session goes back to the tenant, as id_token_hint.
    id_token = storage(request).read(request) if request.user else None
    request.scope["user"] = None  # whatever page follows shows the logged-out state
    try:
        logout_url = await oidc(request).logout_url(id_token, return_to=settings.base_url)
        if logout_url is None:  # the provider offers no logout endpoint (no end_session_endpoint, not Auth0)
            response: Response = error_page(request, 200, "Logged out of this app", NO_PROVIDER_LOGOUT)
        else:
            response = RedirectResponse(logout_url, status_code=303)
    except (TenantUnavailable, LoginError) as error:  # down, or answering wrongly: still log out here
        response = error_page(
            request,
            error.status,
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


def session_panel(request: Request) -> SessionPanel:
    variant, holds = request.app.state.variant
    cookie = storage(request).cookie
    if request.user is None:
        return SessionPanel(variant, cookie, holds)
    expires = datetime.fromtimestamp(request.user["exp"], UTC)
    return SessionPanel(
        variant,
        cookie,
        holds,
        cookie_bytes=len(request.cookies.get(cookie, "")),
        expires_in=_duration(request.user["exp"] - time.time()),
        expires_at=expires.strftime("%a %d %b %Y, %H:%M:%S UTC"),
        expires_iso=expires.isoformat(),
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


# region: app
def session_handling_app(
    storage: TokenStorage, *, variant: str, holds: str, step: str, settings: Settings, session_cookie: str
) -> Starlette:
    """Step 03's app: the same four pages, with the session kept by `storage`.

    `variant` and `holds` name the storage and what its cookie holds, for the learner's panel.
    """
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout),
    ]
    templates = Path(__file__).parent / "templates"
    app = build_app(
        routes, step=step, settings=settings, templates=templates, storage=storage, session_cookie=session_cookie
    )
    app.state.variant = (variant, holds)
    return app


# endregion: app
