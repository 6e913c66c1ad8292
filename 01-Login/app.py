"""Step 01 — Login: send the visitor to the tenant's hosted login page and show who came back.

The original tutorial opened Auth0's Lock widget; today that is Universal Login, a page the tenant
serves. The app never sees a password: it redirects to /authorize, receives a one-time code at
/callback, trades it for an id_token, verifies it, and keeps it in an HttpOnly cookie.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.app import build_app, oidc, storage
from shared.config import Settings, load_settings
from shared.pages import render
from shared.runner import run_step
from shared.storage import CookieStorage

STEP = "Step 01 — Login"


# region: homepage
async def homepage(request: Request) -> Response:
    """Show the Log In button, or the logged-in user's avatar, nickname and a Log Out button."""
    return render(request, "index.html")  # request.user: the verified id_token's claims, or None


# endregion: homepage


# region: login
async def login(request: Request) -> Response:
    """Redirect to the hosted login page, with state, nonce and a PKCE challenge (Authlib makes them)."""
    return await oidc(request).login_redirect(request)


# endregion: login


# region: callback
async def callback(request: Request) -> Response:
    """Finish the login (state, code, verified id_token, a fresh session), then store the id_token."""
    id_token, _claims = await oidc(request).finish_login(request)
    response = RedirectResponse("/", status_code=303)
    storage(request).save(request, response, id_token)
    return response


# endregion: callback


# region: logout
async def logout(request: Request) -> Response:
    """Forget the id_token in this app. (Step 03 also ends the session at the tenant.)"""
    response = RedirectResponse("/", status_code=303)
    storage(request).erase(request, response)
    request.session.clear()  # and the rest of the session: the next visitor starts afresh
    return response


# endregion: logout


# region: app
def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout),
    ]
    return build_app(
        routes,
        step=STEP,
        settings=settings,
        templates=Path(__file__).parent / "templates",
        # The id_token alone in an HttpOnly cookie; Check Session verifies it on every request.
        storage=CookieStorage("step01_id_token", secure=settings.https),
        session_cookie="step01_session",  # the login in progress (state, nonce, PKCE verifier)
    )


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In.")
