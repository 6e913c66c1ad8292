"""Step 02 — Custom Login: the app draws its own form — email and password, Sign Up, Google.

The form posts to the app, which calls the tenant's Authentication API (auth0_api.py): the
password-realm grant for Log In, /dbconnections/signup then the same grant for Sign Up. The
id_token is verified and stored as in step 01; Log In with Google is step 01's redirect.

Cookies: `step02_id_token` holds the id_token; the signed cookie `step02_signed`
(`request.session`) holds the form's CSRF token, a Google login in progress, and a failed try's
error until the form shows it.
"""

import hmac
from pathlib import Path

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auth0_api import AuthApiError, login_with_password, sign_up
from shared.app import build_app
from shared.config import Settings, load_settings
from shared.context import context
from shared.cookies import ID_TOKEN_MAX_AGE
from shared.errors import NoLoginInProgress, TenantRefusedLogin
from shared.forms import read_form
from shared.pages import render
from shared.profile import remember_after_login
from shared.runner import run_step
from shared.tokens import Claims, TokenError

STEP = "Step 02 — Custom Login"
ID_TOKEN_COOKIE = "step02_id_token"
SIGNED_COOKIE = "step02_signed"
MAX_EMAIL = 254  # the longest address SMTP can deliver to (RFC 5321)
MAX_PASSWORD = 128  # longer is no safer, and hashing megabytes is a cheap way to tie up a server


def back_to_the_form(request: Request, error: AuthApiError, email: str) -> Response:
    """After a failed try, redirect to the form (Post/Redirect/Get): a reload posts nothing."""
    # The error and the email typed wait in the signed cookie for one showing: not the password.
    request.session["form_error"] = {"email": email[:MAX_EMAIL], "error": error.to_json()}
    return RedirectResponse("/", status_code=303)


def check_fields(email: str, password: str) -> None:
    """Refuse empty or over-long fields before the tenant sees them."""
    if not email or not password:
        raise AuthApiError("Enter your email address and a password.", status=400)
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        limits = f"Emails have at most {MAX_EMAIL} characters, passwords at most {MAX_PASSWORD}."
        raise AuthApiError(limits, status=400)


async def homepage(request: Request) -> Response:
    """Show the login form (with the last try's error, once), or the logged-in user's profile."""
    if request.user:  # the verified id_token's claims, or None
        return render(request, "index.html")
    logged_out = request.session.pop("logged_out", False)  # just after Log Out: say so
    if failed := request.session.pop("form_error", None):  # popped: a reload shows a clean form
        error = AuthApiError.from_json(failed["error"])  # its status too: 401, 409, 429 …
        return render(request, "index.html", error.status, error=error, email=failed["email"])
    return render(request, "index.html", logged_out=logged_out)


async def login(request: Request) -> Response:
    """Log in with the form's email and password: the password-realm grant returns an id_token."""
    form = await read_form(request)
    email = form.get("email", "").strip()
    try:
        check_fields(email, form.get("password", ""))
        tenant = context(request).tenant
        id_token = await login_with_password(tenant, email, form["password"])
    except AuthApiError as error:
        return back_to_the_form(request, error, email)
    return await start_session(request, id_token)


async def signup(request: Request) -> Response:
    """Create the user with the form's email and password, then log them in (signupAndLogin)."""
    form = await read_form(request)
    email = form.get("email", "").strip()
    try:
        check_fields(email, form.get("password", ""))
        tenant = context(request).tenant
        await sign_up(tenant, email, form["password"])
        id_token = await login_with_password(tenant, email, form["password"])
    except AuthApiError as error:
        return back_to_the_form(request, error, email)
    return await start_session(request, id_token)


async def start_session(request: Request, id_token: str) -> Response:
    """Verify the id_token as any other (no nonce: no redirect here), keep it in a fresh session."""
    await context(request).tenant.verify_id_token(id_token, from_tenant=True)
    request.session.clear()  # a fresh session and CSRF token: nothing from before survives
    response = RedirectResponse("/", status_code=303)
    store_id_token(request, response, id_token)
    return response


async def to_the_form(request: Request) -> Response:
    """A plain GET of /login or /signup (an old link, a bookmark): the form is at /."""
    return RedirectResponse("/", status_code=303)


async def login_with_google(request: Request) -> Response:
    """Redirect to /authorize with connection=google-oauth2: the tenant goes on to Google."""
    ctx = context(request)
    login = await ctx.oauth.create_authorization_url(
        ctx.settings.redirect_uri, connection="google-oauth2"
    )
    request.session["login"] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
    return RedirectResponse(login["url"], status_code=302)


async def callback(request: Request) -> Response:
    """The Google login comes back here, as in step 01: state, code, id_token, a fresh session."""
    ctx = context(request)
    login = request.session.pop("login", None)
    state = request.query_params.get("state", "")
    # The state first: until it matches, nothing else in the URL is this login's, not even an error
    # (Authlib's authorize_access_token reads `error` first: tests/security/test_flow_attacks.py).
    expected = str(login.get("state")) if isinstance(login, dict) else ""
    if not login or not hmac.compare_digest(state.encode(), expected.encode()):
        raise NoLoginInProgress()
    if error := request.query_params.get("error"):  # the user cancelled, or the tenant refused
        raise TenantRefusedLogin(error, request.query_params.get("error_description"))
    token = await ctx.oauth.fetch_access_token(  # Authlib sends the code with the PKCE verifier
        redirect_uri=ctx.settings.redirect_uri,
        code=request.query_params.get("code", ""),
        code_verifier=login["code_verifier"],
    )
    id_token = token["id_token"]
    claims = await ctx.tenant.verify_id_token(id_token, nonce=login["nonce"], from_tenant=True)
    request.session.clear()  # a fresh session: nothing planted before the login survives
    await remember_after_login(request, ctx.tenant, claims, token["access_token"])
    response = RedirectResponse("/", status_code=303)
    store_id_token(request, response, id_token)
    return response


def store_id_token(request: Request, response: Response, id_token: str) -> None:
    """Keep the id_token in an HttpOnly cookie: unlike `localStorage`, scripts cannot read it."""
    ctx = context(request)
    name, secure = ctx.cookie(ID_TOKEN_COOKIE), ctx.settings.https  # `__Host-` in front over https
    response.set_cookie(
        name, id_token, max_age=ID_TOKEN_MAX_AGE, httponly=True, samesite="lax", secure=secure
    )


def read_id_token(request: Request) -> str | None:
    return request.cookies.get(context(request).cookie(ID_TOKEN_COOKIE))


async def check_session(request: Request, id_token: str) -> Claims | None:
    """On every request: the stored id_token still verifies (signature, issuer, audience, exp)."""
    try:
        return await context(request).tenant.verify_id_token(id_token)
    except TokenError:
        return None  # logged out; the failed cookie is erased on this response


def erase_id_token(request: Request, response: Response) -> None:
    ctx = context(request)
    name, secure = ctx.cookie(ID_TOKEN_COOKIE), ctx.settings.https
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure)


async def logout(request: Request) -> Response:
    """Forget the id_token in this app. (Step 03 also ends the session at the tenant.)"""
    if request.method == "GET":  # an old link, another site's image: show the button, no more
        return render(request, "logout.html")
    # A POST gets here only from this app's Log Out button: the factory's CSRF check ran first.
    request.session.clear()  # and the rest of the signed cookie: the next visitor starts afresh
    request.session["logged_out"] = True  # for the page that follows
    response = RedirectResponse("/", status_code=303)
    erase_id_token(request, response)
    return response


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    routes = [
        Route("/", homepage),
        Route("/login", login, methods=["POST"]),
        Route("/signup", signup, methods=["POST"]),
        Route("/login", to_the_form),
        Route("/signup", to_the_form),
        Route("/login/google", login_with_google),
        Route("/callback", callback),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]
    oauth = OAuth().register(  # the client, once; the factory lends it the tenant's discovery
        "auth0",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},  # PKCE
    )
    return build_app(
        routes,
        step=STEP,
        settings=settings,
        templates=Path(__file__).parent / "templates",
        signed_cookie=SIGNED_COOKIE,
        read_id_token=read_id_token,
        check_session=check_session,
        erase_id_token=erase_id_token,
        oauth=oauth,
    )


if __name__ == "__main__":
    where = "log in with the form, sign up, or use Log In with Google."
    run_step(create_app, STEP, where_to_click=where)
