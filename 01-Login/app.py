"""Step 01 — Login: send the visitor to the tenant's hosted login page and show who came back.

/login redirects to /authorize; /callback trades the one-time code for an id_token, verifies it and
keeps it in the HttpOnly cookie `step01_id_token`. Starlette's signed cookie `step01_signed`
(`request.session`) holds the login in progress (state, nonce, PKCE verifier) until /callback.
"""

import hmac
from pathlib import Path

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.app import build_app
from shared.config import Settings, load_settings
from shared.context import context
from shared.cookies import ID_TOKEN_MAX_AGE
from shared.errors import NoLoginInProgress, TenantRefusedLogin
from shared.pages import render
from shared.profile import remember_after_login
from shared.runner import run_step
from shared.tokens import Claims, TokenError

STEP = "Step 01 — Login"
ID_TOKEN_COOKIE = "step01_id_token"
SIGNED_COOKIE = "step01_signed"


async def homepage(request: Request) -> Response:
    """Show the Log In button, or the logged-in user's avatar, nickname and a Log Out button."""
    logged_out = request.session.pop("logged_out", False)  # just after Log Out: say so
    return render(request, "index.html", logged_out=logged_out)  # request.user: claims, or None


async def login(request: Request) -> Response:
    """Redirect to the hosted login page with state, nonce and a PKCE challenge, made by Authlib."""
    ctx = context(request)
    login = await ctx.oauth.create_authorization_url(ctx.settings.redirect_uri)
    # The three secrets wait in the signed cookie until /callback: one login at a time per browser.
    request.session["login"] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
    return RedirectResponse(login["url"], status_code=302)


async def callback(request: Request) -> Response:
    """Check the state, exchange the code, verify the id_token, then start a fresh session."""
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
        Route("/login", login),
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
    run_step(create_app, STEP, where_to_click="click Log In.")
