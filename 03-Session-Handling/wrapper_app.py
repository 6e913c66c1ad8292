"""Step 03 — Session Handling, wrapper-library variant: the tutorial's `Lockr` listing.

The original swapped `localStorage` for Lockr, a small library around it: Lockr.set, Lockr.get,
Lockr.rm. Here the wrapper is Starlette's SessionMiddleware: `request.session` is a dict that it
saves in the signed cookie `step03_wrapper_signed`, as base64 JSON signed with APP_SECRET_KEY
(itsdangerous). Signed, not encrypted: anyone holding the cookie can read it, nobody without the
key can change it. The same three moves as the plain cookie:

- Create Session: after a verified login, put the id_token in the session;
- Check Session: on every request, read it back and verify it again — the signature proves this
  app wrote the cookie, not that the token inside is still valid;
- Logout: remove it, then end the tenant's session too.

Then the same record on the server (records.py) and back-channel logout as in cookie_app.py.
"""

import hmac
from dataclasses import replace
from pathlib import Path

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from panel import SessionHandling, duration, session_handling, session_panel
from records import SessionRecord, open_records, session_key
from shared.app import build_app
from shared.config import Settings, load_settings
from shared.context import context
from shared.cookies import check_cookie_size, signed_cookie_size
from shared.errors import LoginError, TenantUnavailable
from shared.forms import read_form
from shared.pages import error_page, render
from shared.profile import remember_after_login
from shared.runner import run_step
from shared.tokens import LOGOUT_TOKEN_MAX_AGE, Claims, TokenError

STEP = "Step 03 — Session Handling (wrapper library)"
SIGNED_COOKIE = "step03_wrapper_signed"  # the id_token, and the login in progress
NO_STORE = {"Cache-Control": "no-store"}


async def tenant(request: Request) -> StarletteOAuth2App:
    """Authlib's client for the tenant, registered once with the endpoints its discovery names."""
    ctx = context(request)
    if ctx.oauth is None:
        metadata = await ctx.provider.metadata()  # fetched and checked once (shared/provider.py)
        ctx.oauth = OAuth().register(
            "tenant",
            client_id=ctx.settings.client_id,
            client_secret=ctx.settings.client_secret,
            authorize_url=metadata["authorization_endpoint"],
            access_token_url=metadata["token_endpoint"],
            client_kwargs={
                "scope": "openid profile email",
                "code_challenge_method": "S256",  # PKCE
                **ctx.provider.http_options,  # the app's one connection pool and timeout
            },
            compliance_fix=ctx.provider.compliance_fix,  # a token answer not in JSON: a 502 page
        )
    return ctx.oauth


async def homepage(request: Request) -> Response:
    """Show Log In, or the user and Log Out; the panel shows where the session lives."""
    # Check Session (below) already ran for this request: request.user holds the verified claims
    # of an open session, or None; `ended` says why it just ended one, if it did.
    ended = getattr(request.state, "session_ended", None)
    logged_out = request.session.pop("logged_out", False)  # just after Log Out: say so
    panel = session_panel(request, getattr(request.state, "record", None))
    return render(request, "index.html", session=panel, ended=ended, logged_out=logged_out)


async def login(request: Request) -> Response:
    """Redirect to the hosted login page with state, nonce and a PKCE challenge, made by Authlib."""
    client = await tenant(request)
    login = await client.create_authorization_url(context(request).settings.redirect_uri)
    # The three secrets wait in the signed cookie until /callback: one login at a time per browser.
    request.session["login"] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
    return RedirectResponse(login["url"], status_code=302)


# Create Session


async def callback(request: Request) -> Response:
    """Create Session: a verified login gets a record on the server and its id_token in a cookie."""
    ctx = context(request)
    login = request.session.pop("login", None)
    state = request.query_params.get("state", "")
    # The state first: until it matches, nothing else in the URL is this login's, not even an error.
    expected = str(login.get("state")) if isinstance(login, dict) else ""
    if not login or not hmac.compare_digest(state.encode(), expected.encode()):
        raise LoginError(
            "There is no login in progress in this browser, or this link was already used. "
            "Start again from the Log In button.",
            title="No login in progress",
        )
    if error := request.query_params.get("error"):  # the user cancelled, or the tenant refused
        description = request.query_params.get("error_description") or error
        if error == "access_denied":
            raise LoginError(description, status=403, title="Login cancelled")
        raise LoginError(f"The tenant refused the login: {description}.")
    client = await tenant(request)
    token = await client.fetch_access_token(  # Authlib sends the code with the PKCE verifier
        redirect_uri=ctx.settings.redirect_uri,
        code=request.query_params.get("code", ""),
        code_verifier=login["code_verifier"],
    )
    id_token = token["id_token"]
    claims = await ctx.provider.verify_id_token(id_token, nonce=login["nonce"], from_tenant=True)
    request.session.clear()  # a fresh session: nothing planted before the login survives
    await remember_after_login(request, ctx.provider, claims, token["access_token"])
    now = ctx.clock()
    ends = min(now + ctx.settings.session_absolute_timeout, claims["exp"])  # never past the exp
    record = SessionRecord(session_key(id_token), claims.get("sid"), claims["sub"], now, now, ends)
    if not await session_handling(request).records.start(record):
        # The tenant already ended this login's tenant session (a logout token came for its sid):
        # a late callback, from a tab opened before that logout, must not start a session.
        raise LoginError(ENDED_ELSEWHERE, status=401, title="Login refused")
    response = RedirectResponse("/", status_code=303)
    store_id_token(request, response, id_token)
    return response


def store_id_token(request: Request, response: Response, id_token: str) -> None:
    """Hand the verified id_token to the wrapper, which signs it into its cookie (Lockr.set)."""
    # A browser silently drops a cookie over 4 KB: refuse with a clear error page instead.
    session = {**request.session, "id_token": id_token}
    check_cookie_size(signed_cookie_size(session, context(request).signed_cookie))
    request.session["id_token"] = id_token


# Check Session


def read_id_token(request: Request) -> str | None:
    """Lockr.get: the id_token in the session (none if the cookie's signature failed)."""
    id_token = request.session.get("id_token")
    return id_token if isinstance(id_token, str) else None


async def check_session(request: Request, id_token: str) -> Claims | None:
    """Check Session, on every request: the id_token still verifies, and its record is open.

    None logs the visitor out, and the cookie is erased on this response (shared/check_session.py).
    """
    ctx = context(request)
    try:
        claims = await ctx.provider.verify_id_token(id_token)  # signature, iss, aud, exp
    except TokenError:
        return None
    records = session_handling(request).records
    record = await records.get(session_key(id_token))
    if record is None:  # logged out, ended by the tenant, timed out — or never issued here
        request.state.session_ended = "it was ended on the server (a logout here or at the tenant)"
        return None
    now, settings = ctx.clock(), ctx.settings
    ended = None
    if now - record.last_used_at > settings.session_idle_timeout:
        ended = f"no request for more than {duration(settings.session_idle_timeout)}"
    elif now >= record.expires_at:
        ended = "it reached its longest allowed time"
    if ended:
        request.state.session_ended = ended  # the page that follows says why
        await records.end(record.key)
        return None
    if now - record.last_used_at > settings.touch_interval:  # a write, but not on every request
        await records.touch(record, now)
        record = replace(record, last_used_at=now)
    request.state.record = record  # for the learner's panel
    return claims


def erase_id_token(request: Request, response: Response) -> None:
    """Lockr.rm: drop it from the session; the wrapper rewrites or deletes its cookie."""
    request.session.pop("id_token", None)


# Logout


async def logout(request: Request) -> Response:
    """Logout: end the session's record, erase the cookie, then end the tenant's session too.

    Ending the record first is what makes logout real: a copy of the cookie taken before now reads
    as logged out everywhere the records are shared. Without the tenant's logout, its own session
    cookie stays, and the next Log In signs the user straight back in without the login form.
    """
    if request.method == "GET":  # an old link, another site's image: show the button, no more
        return render(request, "logout.html")
    # A POST gets here only from this app's Log Out button: the factory's CSRF check ran first.
    ctx = context(request)
    id_token = read_id_token(request)
    if id_token:
        await session_handling(request).records.end(session_key(id_token))  # 1. copies stop working
    sid = request.user.get("sid") if request.user else None
    request.session.clear()  # the id_token too: nothing of this session survives
    request.session["logged_out"] = True  # for the page that follows
    request.scope["user"] = None  # whatever page follows shows the logged-out state
    try:
        logout_url = await ctx.provider.logout_url(ctx.settings.base_url, sid=sid)
    except (TenantUnavailable, LoginError) as error:  # down, or answering wrongly: log out here
        message = f"{error} Your session at the tenant may still be active: {LOG_IN_AGAIN}"
        response = error_page(request, error.status, "Logged out of this app only", message)
    else:
        if logout_url is None:  # no end_session_endpoint, and not Auth0
            response = error_page(request, 200, "Logged out of this app", NO_PROVIDER_LOGOUT)
        else:
            response = RedirectResponse(logout_url, status_code=303)  # 3. the tenant's session
    # 2. The id_token went with request.session.clear(): the wrapper rewrites its cookie.
    return response


LOG_IN_AGAIN = "Log In could sign you straight back in."
ENDED_ELSEWHERE = (
    "This login belongs to a tenant session that has already ended: you logged out of it, here or "
    "in another app. Log in again."
)
NO_PROVIDER_LOGOUT = (
    "You are logged out of this app. The identity provider offers no logout endpoint (its "
    f"discovery document has no end_session_endpoint), so your session there may still be active: "
    f"{LOG_IN_AGAIN}"
)


# Back-channel logout


async def backchannel_logout(request: Request) -> Response:
    """Single logout: the tenant POSTs a signed logout token when the user's tenant session ends.

    Every session of that tenant session (`sid`) — or of that user (`sub`) — ends here, whichever
    app the user logged out of. A token is accepted once (`jti`) and only while fresh.
    """
    form = await read_form(request)
    ctx = context(request)
    try:
        claims = await ctx.provider.verify_logout_token(form.get("logout_token", ""))
    except TokenError as error:
        return refused(str(error))
    records = session_handling(request).records
    # One step: the jti recorded, the sessions ended, and their sid remembered as ended for as long
    # as one of its sessions could have lived. A store error changes nothing, so a retry works.
    ended = await records.end_by_logout_token(
        jti=claims["jti"],
        jti_until=claims["iat"] + LOGOUT_TOKEN_MAX_AGE + ctx.settings.leeway,
        sid=claims.get("sid"),
        sub=claims.get("sub"),
        sid_ended_until=ctx.clock() + ctx.settings.session_absolute_timeout,
    )
    if not ended:
        return refused("This logout token was already used.")
    return Response(status_code=200, headers=NO_STORE)


def refused(description: str) -> Response:
    """Back-Channel Logout §2.8: a refused logout token gets a 400 with OAuth's error JSON."""
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, status_code=400, headers=NO_STORE)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    records = open_records(settings.session_store_url, settings.state_dir)
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout, methods=["GET", "POST"]),
        Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
    ]
    app = build_app(
        routes,
        step=STEP,
        settings=settings,
        templates=Path(__file__).parent / "templates",
        signed_cookie=SIGNED_COOKIE,
        read_id_token=read_id_token,
        check_session=check_session,
        erase_id_token=erase_id_token,
        any_host=["/backchannel-logout"],  # the tenant calls it, on whatever host name it knows
        csrf_exempt=["/backchannel-logout"],  # no browser posts it: the logout token is signed
        on_shutdown=[records.aclose],
    )
    app.state.session_handling = SessionHandling(
        records=records,
        variant="wrapper library: Starlette's SessionMiddleware",
        holds='{"id_token": …} as base64 JSON, signed with APP_SECRET_KEY: '
        "whoever has the cookie can read it, only this app can change it",
        cookie=context(app).signed_cookie,
    )
    return app


if __name__ == "__main__":
    run_step(create_app, STEP, where_to_click="click Log In, reload the page, then Log Out.")
