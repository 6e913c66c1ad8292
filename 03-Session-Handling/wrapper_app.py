"""Step 03 — Session Handling, wrapper-library variant: the tutorial's `Lockr` listing.

The original swapped `localStorage` for Lockr, a small library around it: Lockr.set, Lockr.get,
Lockr.rm. Here the wrapper is Starlette's SessionMiddleware: `request.session` is a dict that it
saves in a cookie named `session`, as base64 JSON signed with APP_SECRET_KEY (itsdangerous). Signed,
not encrypted: anyone holding the cookie can read it, nobody without the key can change it.
The middleware is installed for every step (Authlib keeps the login's state in it): shared/web.py.

The same three steps as the plain cookie:

- Create Session: after a verified login, put the id_token in the session;
- Check Session: on every page, read it back and verify it again — the signature proves this app
  wrote the cookie, not that the token inside is still valid; one that fails is removed;
- Logout: remove it, then end the tenant's session too.

Sessions are stateless: every instance of the app that shares APP_SECRET_KEY reads the same cookie,
behind any load balancer. The pages are the same in both variants: shared/session_pages.py.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shared.config import Settings
from shared.runner import run_step
from shared.session_pages import session_handling_app
from shared.storage import ID_TOKEN, check_cookie_size, session_cookie_size

STEP = "Step 03 — Session Handling (wrapper library)"


class WrapperLibrary:
    """The id_token under "id_token" in Starlette's signed `session` cookie."""

    name = "wrapper library: Starlette's SessionMiddleware"
    cookie = "session"
    holds = '{"id_token": …} as base64 JSON, signed with APP_SECRET_KEY: whoever has the cookie can read it, only this app can change it'

    # region: create-session
    def save(self, request: Request, response: Response, id_token: str) -> None:
        """Create Session: hand the verified id_token to the wrapper, which signs it into its cookie."""
        # A browser silently drops a cookie over 4 KB: refuse with a clear error page instead.
        check_cookie_size(session_cookie_size({**request.session, ID_TOKEN: id_token}))
        request.session[ID_TOKEN] = id_token

    # endregion: create-session

    # region: check-session
    def read(self, request: Request) -> str | None:
        """Check Session: the id_token in the session (empty if the cookie's signature failed); the caller verifies it."""
        return request.session.get(ID_TOKEN)

    # endregion: check-session

    # region: logout
    def erase(self, request: Request, response: Response) -> None:
        """Logout (and a failed check): drop it from the session; the wrapper rewrites or deletes the cookie."""
        request.session.pop(ID_TOKEN, None)

    # endregion: logout


# region: app
def create_app(settings: Settings | None = None) -> Starlette:
    return session_handling_app(
        WrapperLibrary(), step=STEP, settings=settings, templates=Path(__file__).parent / "templates"
    )


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In, reload the page, then Log Out.")
