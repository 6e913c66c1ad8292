"""Step 03 — Session Handling, plain-cookie variant: the tutorial's `localStorage` listing.

The original kept the id_token in `localStorage`: setItem after login, getItem on every page,
removeItem at logout. Here the browser keeps it in a cookie of its own, `step03_cookie_id_token`,
which page scripts cannot read (HttpOnly), and the server makes the three moves:

- Create Session: after a verified login, store the id_token (and nothing else);
- Check Session: on every request, read it back and verify it again — a cookie is user input;
- Logout: remove it, then end the tenant's session too.

The moves call the id_token's holder (IdTokenHolder, below): three calls, store / read / erase,
that this file makes with a plain cookie; wrapper_app.py makes the same three with Starlette's
signed cookie, as the tutorial's Lockr section did, and builds this same app with them.

Then what makes the session end for real: the server's record of each login (records.py), which
Logout deletes, so a copy of the cookie taken before no longer works; and back-channel logout, by
which the tenant ends the session when the user logs out of another app.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from panel import duration, session_panel
from records import RecordStore, SessionRecord, open_records, session_key
from shared.app import build_app
from shared.check_session import SessionCheck, session_check
from shared.config import Settings, load_settings
from shared.context import AppContext, context
from shared.cookies import ID_TOKEN_MAX_AGE
from shared.errors import LoginError, NoLoginInProgress, TenantRefusedLogin, TenantUnavailable
from shared.forms import read_form
from shared.pages import error_page, render
from shared.profile import remember_after_login
from shared.runner import run_step
from shared.tokens import LOGOUT_TOKEN_MAX_AGE, TokenError

ID_TOKEN_COOKIE = "step03_cookie_id_token"
SIGNED_COOKIE = "step03_cookie_signed"  # only the login in progress (state, nonce, PKCE verifier)
NO_STORE = {"Cache-Control": "no-store"}
WHERE_TO_CLICK = "click Log In, reload the page, then Log Out."


@dataclass(frozen=True)
class IdTokenHolder:
    """The id_token's holder: where the browser keeps the id_token between requests, in three calls.

    The seed's Lockr section changed only these: `localStorage.setItem / getItem / removeItem`
    became `Lockr.set / get / rm`. Here PLAIN_COOKIE (below) makes them with a cookie of its own;
    wrapper_app.py with Starlette's signed cookie. The rest describes the variant on its pages.
    """

    store: Callable[[Request, Response, str], None]  # Create Session: keep the verified id_token
    read: Callable[[Request], str | None]  # Check Session: the id_token sent back, if any
    erase: Callable[[Request, Response], None]  # Logout, or a failed check: forget it
    variant: str  # its name, in the page's title and the panel
    cookie: str  # the cookie that holds the id_token
    signed_cookie: str  # Starlette's signed cookie (`request.session`): the login in progress
    holds: str  # what `cookie` holds, for the panel

    @property
    def step(self) -> str:
        return f"Step 03 — Session Handling ({self.variant})"


@dataclass
class SessionHandling(AppContext):
    """Step 03's context: every step's (settings, tenant, clock …), its records and its holder.

    A subclass rather than a second object on the app, so there is one accessor:
    `context(request, SessionHandling)` (shared/context.py).
    """

    records: RecordStore = field(kw_only=True)
    holder: IdTokenHolder = field(kw_only=True)


async def homepage(request: Request) -> Response:
    """Show Log In, or the user and Log Out; the panel shows where the session lives."""
    # Check Session (below) already ran for this request: request.user holds the verified claims
    # of an open session, or None; `found` also has its record, or why it just ended one.
    found: SessionCheck[SessionRecord] = session_check(request)
    ctx = context(request, SessionHandling)
    panel = session_panel(request, found.record, ctx.holder, ctx.records)
    logged_out = request.session.pop("logged_out", False)  # just after Log Out: say so
    return render(request, "index.html", session=panel, ended=found.ended, logged_out=logged_out)


async def login(request: Request) -> Response:
    """Redirect to the hosted login page with state, nonce and a PKCE challenge, made by Authlib."""
    ctx = context(request)
    login = await ctx.oauth.create_authorization_url(ctx.settings.redirect_uri)
    # The three secrets wait in the signed cookie until /callback: one login at a time per browser.
    request.session["login"] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
    return RedirectResponse(login["url"], status_code=302)


# Create Session


async def callback(request: Request) -> Response:
    """Create Session: a verified login gets a record on the server, and its id_token a holder."""
    ctx = context(request, SessionHandling)
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
    now = ctx.clock()
    ends = min(now + ctx.settings.session_absolute_timeout, claims["exp"])  # never past the exp
    record = SessionRecord(session_key(id_token), claims.get("sid"), claims["sub"], now, now, ends)
    if not await ctx.records.start(record):
        # The tenant already ended this login's tenant session (a logout token came for its sid):
        # a late callback, from a tab opened before that logout, must not start a session.
        raise LoginError(ENDED_ELSEWHERE, status=401, title="Login refused")
    response = RedirectResponse("/", status_code=303)
    ctx.holder.store(request, response, id_token)
    return response


def store_id_token(request: Request, response: Response, id_token: str) -> None:
    """The id_token in an HttpOnly cookie: unlike `localStorage`, scripts cannot read it."""
    ctx = context(request)
    response.set_cookie(
        ctx.cookie(ID_TOKEN_COOKIE),  # `__Host-` in front over https
        id_token,
        max_age=ID_TOKEN_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.https,
    )


# Check Session


def read_id_token(request: Request) -> str | None:
    return request.cookies.get(context(request).cookie(ID_TOKEN_COOKIE))


async def check_session(request: Request, id_token: str) -> SessionCheck[SessionRecord]:
    """Check Session, on every request: the id_token still verifies, and its record is open.

    What it finds is the page's (`session_check(request)`): the claims and record of an open
    session, or no claims — logged out, and the id_token erased on this response — and why.
    """
    ctx = context(request, SessionHandling)
    try:
        claims = await ctx.tenant.verify_id_token(id_token)  # signature, iss, aud, exp
    except TokenError:
        return SessionCheck(None)
    record = await ctx.records.get(session_key(id_token))
    if record is None:  # logged out, ended by the tenant, timed out — or never issued here
        return SessionCheck(
            None, ended="it was ended on the server (a logout here or at the tenant)"
        )
    now, settings = ctx.clock(), ctx.settings
    ended = None
    if now - record.last_used_at > settings.session_idle_timeout:
        ended = f"no request for more than {duration(settings.session_idle_timeout)}"
    elif now >= record.expires_at:
        ended = "it reached its longest allowed time"
    if ended:
        await ctx.records.end(record.key)
        return SessionCheck(None, ended=ended)  # the page that follows says why
    if now - record.last_used_at > settings.touch_interval:  # a write, but not on every request
        await ctx.records.touch(record, now)
        record = replace(record, last_used_at=now)
    return SessionCheck(claims, record)


def erase_id_token(request: Request, response: Response) -> None:
    ctx = context(request)
    name, secure = ctx.cookie(ID_TOKEN_COOKIE), ctx.settings.https
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure)


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
    ctx = context(request, SessionHandling)
    id_token = ctx.holder.read(request)
    if id_token:
        await ctx.records.end(session_key(id_token))  # 1. copies stop working
    sid = request.user.get("sid") if request.user else None
    request.session.clear()  # nothing of this session survives into the next one
    request.session["logged_out"] = True  # for the page that follows
    try:
        logout_url = await ctx.tenant.logout_url(ctx.settings.base_url, sid=sid)
    except (TenantUnavailable, LoginError) as error:  # down, or answering wrongly: log out here
        message = f"{error} Your session at the tenant may still be active: {LOG_IN_AGAIN}"
        response = error_page(request, error.status, "Logged out of this app only", message)
    else:
        if logout_url is None:  # no end_session_endpoint, and not Auth0
            response = error_page(request, 200, "Logged out of this app", NO_PROVIDER_LOGOUT)
        else:
            response = RedirectResponse(logout_url, status_code=303)  # 3. the tenant's session
    ctx.holder.erase(request, response)  # 2. erase the id_token, whichever answer goes back
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
    ctx = context(request, SessionHandling)
    try:
        claims = await ctx.tenant.verify_logout_token(form.get("logout_token", ""))
    except TokenError as error:
        return refused(str(error))
    # One step: the jti recorded, the sessions ended, and their sid remembered as ended for as long
    # as one of its sessions could have lived. A store error changes nothing, so a retry works.
    ended = await ctx.records.end_by_logout_token(
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


PLAIN_COOKIE = IdTokenHolder(
    store_id_token,
    read_id_token,
    erase_id_token,
    variant="plain cookie",
    cookie=ID_TOKEN_COOKIE,
    signed_cookie=SIGNED_COOKIE,
    holds="the id_token itself: a JWT signed by the tenant, verified again on every request",
)


def create_app(settings: Settings | None = None, holder: IdTokenHolder = PLAIN_COOKIE) -> Starlette:
    """Step 03 with the id_token in `holder`: this file's plain cookie, or wrapper_app.py's."""
    settings = settings or load_settings()
    records = open_records(settings.session_store_url, settings.state_dir)
    oauth = OAuth().register(  # the client, once; the factory lends it the tenant's discovery
        "auth0",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},  # PKCE
    )
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout, methods=["GET", "POST"]),
        Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
    ]
    return build_app(
        routes,
        step=holder.step,
        settings=settings,
        templates=Path(__file__).parent / "templates",
        signed_cookie=holder.signed_cookie,
        read_id_token=holder.read,
        check_session=check_session,
        erase_id_token=holder.erase,
        oauth=oauth,
        any_host=["/backchannel-logout"],  # the tenant calls it, on whatever host name it knows
        csrf_exempt=["/backchannel-logout"],  # no browser posts it: the logout token is signed
        on_shutdown=[records.aclose],
        context=lambda *common: SessionHandling(*common, records=records, holder=holder),
    )


if __name__ == "__main__":
    run_step(create_app, PLAIN_COOKIE.step, where_to_click=WHERE_TO_CLICK)
