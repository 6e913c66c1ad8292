"""Step 03 — Session Handling, plain-cookie variant: the tutorial's `localStorage` listing.

The original kept the id_token in `localStorage`: setItem after login, getItem on every page,
removeItem at logout. Here the browser keeps it in a cookie of its own, which page scripts cannot
read (HttpOnly), and the server does the three steps:

- Create Session: after a verified login, store the id_token (and nothing else);
- Check Session: on every page, read it back and verify it again (signature, issuer, audience,
  expiry) — a cookie is user input, and a token that fails counts as logged out and is removed;
- Logout: remove it, then end the tenant's session too.

The cookie is not signed by this app and needs no APP_SECRET_KEY: the id_token inside is signed by
the tenant. The pages that call these three methods are the same in both variants:
shared/session_pages.py. Compare with wrapper_app.py, which keeps the token in a signed session.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shared.config import Settings, load_settings
from shared.runner import run_step
from shared.session_pages import session_handling_app
from shared.storage import ID_TOKEN, check_cookie_size

STEP = "Step 03 — Session Handling (plain cookie)"
MAX_AGE = 10 * 60 * 60  # Auth0's default id_token lifetime; Check Session still enforces the token's own exp


class PlainCookie:
    """The id_token alone, in an HttpOnly cookie named `id_token`."""

    name = "plain cookie"
    cookie = ID_TOKEN
    holds = "the id_token itself: a JWT signed by the tenant, which this app verifies again on every request"

    def __init__(self, *, secure: bool) -> None:
        self.secure = secure  # Secure flag whenever the app is served over https

    # region: create-session
    def save(self, request: Request, response: Response, id_token: str) -> None:
        """Create Session: keep the verified id_token in a cookie of its own."""
        response.set_cookie(ID_TOKEN, id_token, max_age=MAX_AGE, httponly=True, samesite="lax", secure=self.secure)
        # A browser silently drops a cookie over 4 KB: refuse with a clear error page instead.
        check_cookie_size(len(response.headers["set-cookie"]))

    # endregion: create-session

    # region: check-session
    def read(self, request: Request) -> str | None:
        """Check Session: the id_token the browser sent back, not yet trusted (the caller verifies it)."""
        return request.cookies.get(ID_TOKEN)

    # endregion: check-session

    # region: logout
    def erase(self, request: Request, response: Response) -> None:
        """Logout (and a failed check): tell the browser to delete the cookie."""
        response.delete_cookie(ID_TOKEN, httponly=True, samesite="lax", secure=self.secure)

    # endregion: logout


# region: app
def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    variant = PlainCookie(secure=settings.https)
    return session_handling_app(variant, step=STEP, settings=settings, templates=Path(__file__).parent / "templates")


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In, reload the page, then Log Out.")
