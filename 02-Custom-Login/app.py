"""Step 02 — Custom Login: the app draws its own form — email and password, Sign Up, Log In with Google.

The original tutorial replaced the Lock widget with Auth0.js and a form of its own. Here the form posts
to the app, and the app calls the tenant's Authentication API on the server: the password-realm grant
for Log In, /dbconnections/signup and then the same grant for Sign Up. The tenant's answer is an
id_token, verified and stored exactly as in step 01. "Log In with Google" cannot be a password form:
it is still a redirect to /authorize, coming back through step 01's /callback.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared import auth0_api
from shared.app import build_app, oidc, storage
from shared.auth0_api import AuthApiError
from shared.config import Settings, load_settings
from shared.csrf import check_csrf, csrf_token
from shared.forms import read_form
from shared.oidc import LoginError
from shared.pages import render
from shared.runner import run_step
from shared.storage import CookieStorage
from shared.tokens import TokenError

STEP = "Step 02 — Custom Login"
MAX_EMAIL = 254  # the longest address SMTP can deliver to (RFC 5321)
MAX_PASSWORD = 128  # longer is no safer, and hashing megabytes is a cheap way to tie up a server


# region: form
def show_form(request: Request, status_code: int = 200, error: AuthApiError | None = None, email: str = "") -> Response:
    """The login form, with an error above it when the last try failed; the password is never sent back."""
    return render(
        request, "index.html", status_code, csrf_token=csrf_token(request), error=error, email=email[:MAX_EMAIL]
    )


def check_fields(email: str, password: str) -> None:
    """Refuse empty or over-long fields before the tenant sees them."""
    if not email or not password:
        raise AuthApiError("Enter your email address and a password.", status=400)
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise AuthApiError(f"Emails have at most {MAX_EMAIL} characters, passwords at most {MAX_PASSWORD}.", status=400)


# endregion: form


# region: homepage
async def homepage(request: Request) -> Response:
    """Show the login form, or the logged-in user's avatar, nickname and a Log Out button."""
    if request.user:  # the verified id_token's claims, or None
        return render(request, "index.html")
    return show_form(request)


# endregion: homepage


# region: login
async def login(request: Request) -> Response:
    """Log in with the form's email and password: the password-realm grant returns an id_token."""
    form = await read_form(request)
    check_csrf(request, form)
    email = form.get("email", "").strip()
    try:
        check_fields(email, form.get("password", ""))
        id_token = await auth0_api.login_with_password(oidc(request), email, form["password"])
    except AuthApiError as error:
        return show_form(request, error.status, error, email)
    return await remember(request, id_token)


# endregion: login


# region: signup
async def signup(request: Request) -> Response:
    """Create the user with the form's email and password, then log them in (the original signupAndLogin)."""
    form = await read_form(request)
    check_csrf(request, form)
    email = form.get("email", "").strip()
    try:
        check_fields(email, form.get("password", ""))
        await auth0_api.sign_up(oidc(request), email, form["password"])
        id_token = await auth0_api.login_with_password(oidc(request), email, form["password"])
    except AuthApiError as error:
        return show_form(request, error.status, error, email)
    return await remember(request, id_token)


# endregion: signup


# region: remember
async def remember(request: Request, id_token: str) -> Response:
    """Verify the id_token like any other (no nonce: this grant has no redirect), store it, go home."""
    try:
        await oidc(request).verify(id_token, from_tenant=True)  # the tenant's answer, not a cookie
    except TokenError as error:
        raise LoginError(str(error), status=401, title="Login refused") from error
    request.session.clear()  # a fresh session, and so a new CSRF token: nothing from before carries over
    response = RedirectResponse("/", status_code=303)
    storage(request).save(request, response, id_token)
    return response


# endregion: remember


async def back_to_the_form(request: Request) -> Response:
    """A plain GET of /login or /signup (Enter in the address bar after a form error): show the form."""
    return RedirectResponse("/", status_code=303)


# region: google
async def login_with_google(request: Request) -> Response:
    """Redirect to /authorize with connection=google-oauth2: the tenant sends the browser on to Google."""
    return await oidc(request).login_redirect(request, connection="google-oauth2")


async def callback(request: Request) -> Response:
    """Finish the Google login (state, code, verified id_token, a fresh session), then store the id_token."""
    id_token, _claims = await oidc(request).finish_login(request)
    response = RedirectResponse("/", status_code=303)
    storage(request).save(request, response, id_token)
    return response


# endregion: google


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
        Route("/login", login, methods=["POST"]),
        Route("/signup", signup, methods=["POST"]),
        Route("/login", back_to_the_form),  # after a form error the address bar says /login
        Route("/signup", back_to_the_form),
        Route("/login/google", login_with_google),
        Route("/callback", callback),
        Route("/logout", logout),
    ]
    return build_app(
        routes,
        step=STEP,
        settings=settings,
        templates=Path(__file__).parent / "templates",
        # The id_token alone in an HttpOnly cookie; Check Session verifies it on every request.
        storage=CookieStorage("step02_id_token", secure=settings.https),
        session_cookie="step02_session",  # the login in progress and the form's CSRF token
    )


# endregion: app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="log in with the form, sign up, or use Log In with Google.")
