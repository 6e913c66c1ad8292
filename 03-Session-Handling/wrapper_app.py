"""Step 03 — Session Handling, wrapper-library variant: the tutorial's `Lockr` listing.

The original swapped `localStorage` for Lockr, a small library around it: Lockr.set, Lockr.get,
Lockr.rm. Here the wrapper is Starlette's SessionMiddleware: `request.session` is a dict that it
saves in a cookie, as base64 JSON signed with APP_SECRET_KEY (itsdangerous). Signed, not encrypted:
anyone holding the cookie can read it, nobody without the key can change it. Every step installs
the middleware (it keeps the login in progress); this variant keeps the id_token there too.

The same three steps as the plain cookie:

- Create Session: after a verified login, put the id_token in the session;
- Check Session: on every request, read it back and verify it again — the signature proves this app
  wrote the cookie, not that the token inside is still valid; one that fails is removed;
- Logout: remove it, then end the tenant's session too.

The pages are the same in both variants: session_pages.py beside this file.
"""

from session_pages import session_handling_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shared.config import Settings, load_settings
from shared.runner import run_step
from shared.storage import check_cookie_size, cookie_name, session_cookie_size

STEP = "Step 03 — Session Handling (wrapper library)"
SESSION_COOKIE = "step03_wrapper_session"


class SessionStorage:
    """The id_token under "id_token" in the signed session that SessionMiddleware keeps."""

    def __init__(self, cookie: str) -> None:
        self.cookie = cookie  # SessionMiddleware's cookie: this variant's whole session lives there

    # region: create-session
    def save(self, request: Request, response: Response, id_token: str) -> None:
        """Create Session: hand the verified id_token to the wrapper, which signs it into its cookie."""
        # A browser silently drops a cookie over 4 KB: refuse with a clear error page instead.
        check_cookie_size(session_cookie_size({**request.session, "id_token": id_token}, self.cookie))
        request.session["id_token"] = id_token

    # endregion: create-session

    # region: check-session
    def read(self, request: Request) -> str | None:
        """Check Session: the id_token in the session (none if the signature failed); Check Session verifies it."""
        id_token = request.session.get("id_token")
        return id_token if isinstance(id_token, str) else None

    # endregion: check-session

    # region: logout
    def erase(self, request: Request, response: Response) -> None:
        """Logout (and a failed check): drop it from the session; the wrapper rewrites or deletes the cookie."""
        request.session.pop("id_token", None)

    # endregion: logout


# region: app
def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    return session_handling_app(
        SessionStorage(cookie_name(SESSION_COOKIE, secure=settings.https)),
        variant="wrapper library: Starlette's SessionMiddleware",
        holds='{"id_token": …} as base64 JSON, signed with APP_SECRET_KEY: '
        "whoever has the cookie can read it, only this app can change it",
        step=STEP,
        settings=settings,
        session_cookie=SESSION_COOKIE,
    )


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In, reload the page, then Log Out.")
