"""Step 03 — Session Handling, plain-cookie variant: the tutorial's `localStorage` listing.

The original kept the id_token in `localStorage`: setItem after login, getItem on every page,
removeItem at logout. Here the browser keeps it in a cookie of its own, which page scripts cannot
read (HttpOnly), and the server does the three steps:

- Create Session: after a verified login, store the id_token (and nothing else);
- Check Session: on every request, read it back and verify it again (signature, issuer, audience,
  expiry) — a cookie is user input, and a token that fails counts as logged out and is removed;
- Logout: remove it, then end the tenant's session too.

The storage is the same CookieStorage steps 01 and 02 use (shared/storage.py): `response.set_cookie`,
`request.cookies.get`, `response.delete_cookie`. The cookie is not signed by this app: the id_token
inside is signed by the tenant. The pages are the same in both variants: session_pages.py beside this
file. Compare with wrapper_app.py, which keeps the token in a signed session.
"""

from session_pages import session_handling_app
from starlette.applications import Starlette

from shared.config import Settings, load_settings
from shared.runner import run_step
from shared.storage import CookieStorage

STEP = "Step 03 — Session Handling (plain cookie)"


# region: app
def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    return session_handling_app(
        CookieStorage("step03_cookie_id_token", secure=settings.https),
        variant="plain cookie",
        holds="the id_token itself: a JWT signed by the tenant, which this app verifies again on every request",
        step=STEP,
        settings=settings,
        session_cookie="step03_cookie_session",  # only the login in progress (state, nonce, PKCE verifier)
    )


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In, reload the page, then Log Out.")
