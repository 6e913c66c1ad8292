"""Step 03 — Session Handling, wrapper-library variant: the tutorial's `Lockr` listing.

The original swapped `localStorage` for Lockr, a small library around it, and changed three calls:
Lockr.set, Lockr.get, Lockr.rm. So does this file. Here the wrapper is Starlette's
SessionMiddleware: `request.session` is a dict that it saves in the signed cookie
`step03_wrapper_signed`, as base64 JSON signed with APP_SECRET_KEY (itsdangerous). Signed, not
encrypted: anyone holding the cookie can read it, nobody without the key can change it — and the
signature proves this app wrote it, not that the token inside is still valid, so Check Session
verifies it all the same.

Everything else — Log In, Create Session, Check Session, Logout, back-channel logout — is
cookie_app.py's, written once against these three calls: `create_app` builds that app with them.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

import cookie_app
from shared.config import Settings
from shared.runner import run_step

SIGNED_COOKIE = "step03_wrapper_signed"  # the id_token, and the login in progress


def store_id_token(request: Request, response: Response, id_token: str) -> None:
    """Lockr.set: hand the verified id_token to the wrapper, which signs it into its cookie."""
    request.session["id_token"] = id_token


def read_id_token(request: Request) -> str | None:
    """Lockr.get: the id_token in the session (none if the cookie's signature failed)."""
    id_token = request.session.get("id_token")
    return id_token if isinstance(id_token, str) else None


def erase_id_token(request: Request, response: Response) -> None:
    """Lockr.rm: drop it from the session; the wrapper rewrites or deletes its cookie."""
    request.session.pop("id_token", None)


SIGNED_SESSION = cookie_app.IdTokenHolder(
    store_id_token,
    read_id_token,
    erase_id_token,
    variant="wrapper library",
    cookie=SIGNED_COOKIE,
    signed_cookie=SIGNED_COOKIE,
    holds='{"id_token": …} as base64 JSON, signed by Starlette\'s SessionMiddleware with '
    "APP_SECRET_KEY: whoever has the cookie can read it, only this app can change it",
)


def create_app(settings: Settings | None = None) -> Starlette:
    """Step 03 as cookie_app.py builds it, with the id_token in Starlette's signed cookie."""
    return cookie_app.create_app(settings, SIGNED_SESSION)


if __name__ == "__main__":
    run_step(create_app, SIGNED_SESSION.step, where_to_click=cookie_app.WHERE_TO_CLICK)
