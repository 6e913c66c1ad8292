"""Step 03's pages, the same in both storage variants: they create, check and end the session.

A variant (`cookie_app.py`, `wrapper_app.py`) is a storage — save, read, erase the id_token — plus a
sentence for the learner's panel saying which cookie it uses and what that cookie holds. Beside the
cookie, the server keeps a record of each session (session_store.py): logout deletes it, so a copy
of the cookie taken before logout no longer works; idle and absolute timeouts end it; and the tenant
can end it from outside (back-channel logout) when the user logs out of another app.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from session_store import SessionRecord, SessionStore, open_store, session_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from shared.app import build_app, oidc, storage
from shared.config import Settings
from shared.forms import read_form
from shared.oidc import LoginError, TenantUnavailable
from shared.pages import error_page, render
from shared.session_check import verify_id_token
from shared.storage import TokenStorage
from shared.tokens import LOGOUT_TOKEN_MAX_AGE, Claims, TokenError

TOUCH_INTERVAL = 60  # seconds: a busy session records its last use at most once a minute
NO_STORE = {"Cache-Control": "no-store"}


def sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


# region: check-session
async def check_session(request: Request, id_token: str) -> Claims | None:
    """Check Session, on every request: the id_token still verifies, and its record says the session is open.

    Returning None logs the visitor out and erases the cookie (shared/session_check.py does that).
    """
    claims = await verify_id_token(request, id_token)  # signature, issuer, audience, expiry
    if claims is None:
        return None
    record = await sessions(request).get(session_key(id_token))
    if record is None:  # logged out, ended by the tenant, timed out — or a cookie this app never issued
        request.state.session_ended = "it was ended on the server (a logout here or at the tenant)"
        return None
    settings: Settings = request.app.state.settings
    now = request.app.state.clock()
    ended = None
    if now - record.last_used_at > settings.session_idle_timeout:
        ended = f"no request for more than {_duration(settings.session_idle_timeout)}"
    elif now >= record.expires_at:
        ended = "it reached its longest allowed time"
    if ended:
        request.state.session_ended = ended  # the page that follows says why
        await sessions(request).end(record.key)
        return None
    if now - record.last_used_at > TOUCH_INTERVAL:
        await sessions(request).touch(record, now)
        record = replace(record, last_used_at=now)
    request.state.session_record = record  # for the learner's panel
    return claims


# endregion: check-session


# region: check-session-page
async def homepage(request: Request) -> Response:
    """Show Log In, or the user and Log Out; the panel shows where the session lives.

    Check Session (check_session above) already ran for this request: request.user holds the
    verified claims of an open session, or None — and a session that failed is being erased.
    """
    ended = getattr(request.state, "session_ended", None)  # why Check Session just ended one, if it did
    return render(request, "index.html", session=session_panel(request), ended=ended)


# endregion: check-session-page


async def login(request: Request) -> Response:
    """Redirect to the hosted login page, with state, nonce and a PKCE challenge (Authlib makes them)."""
    return await oidc(request).login_redirect(request)


# region: create-session-page
async def callback(request: Request) -> Response:
    """Create Session: finish the login (state, code, verified id_token, a fresh session), record it, store it."""
    id_token, claims = await oidc(request).finish_login(request)
    settings: Settings = request.app.state.settings
    now = request.app.state.clock()
    ends = min(now + settings.session_absolute_timeout, claims["exp"])  # never later than the token's own exp
    await sessions(request).start(
        SessionRecord(session_key(id_token), claims.get("sid"), claims["sub"], now, now, ends)
    )
    response = RedirectResponse("/", status_code=303)
    storage(request).save(request, response, id_token)
    return response


# endregion: create-session-page


NO_PROVIDER_LOGOUT = (
    "You are logged out of this app. The identity provider offers no logout endpoint "
    "(its discovery document has no end_session_endpoint), so your session there may still be active: "
    "Log In could sign you straight back in."
)


# region: logout-page
async def logout(request: Request) -> Response:
    """Logout: end the session on the server, erase the cookie, then end the tenant's session too.

    Ending the record first is what makes logout real: a copy of the cookie taken before now reads as
    logged out everywhere the store is shared. Without the tenant's logout, its own session cookie
    stays, and the next Log In signs the user straight back in without showing the login form.
    """
    settings: Settings = request.app.state.settings
    id_token = storage(request).read(request)
    if id_token:
        await sessions(request).end(session_key(id_token))  # 1. revoke: copies of the cookie stop working
    request.session.clear()  # nothing of this session survives into the next one
    # Only a token that passed Check Session goes to the tenant, as id_token_hint; revoked by now, the copy
    # that stays in the browser's history is no longer a session credential.
    hint = id_token if request.user else None
    request.scope["user"] = None  # whatever page follows shows the logged-out state
    try:
        logout_url = await oidc(request).logout_url(hint, return_to=settings.base_url)
        if logout_url is None:  # the provider offers no logout endpoint (no end_session_endpoint, not Auth0)
            response: Response = error_page(request, 200, "Logged out of this app", NO_PROVIDER_LOGOUT)
        else:
            response = RedirectResponse(logout_url, status_code=303)  # 3. end the tenant's session too
    except (TenantUnavailable, LoginError) as error:  # down, or answering wrongly: still log out here
        response = error_page(
            request,
            error.status,
            "Logged out of this app only",
            f"{error} Your session at the tenant may still be active: Log In could sign you straight back in.",
        )
    storage(request).erase(request, response)  # 2. erase the cookie, whichever answer goes back
    return response


# endregion: logout-page


# region: backchannel-logout
async def backchannel_logout(request: Request) -> Response:
    """Single logout: the tenant POSTs a signed logout token when the user's tenant session ends.

    Every session of that tenant session (`sid`) — or of that user (`sub`) — ends here, whichever app
    the user logged out of. A token is accepted once (`jti`) and only while fresh.
    """
    form = await read_form(request)
    try:
        claims = await oidc(request).verify_logout_token(form.get("logout_token", ""))
    except TokenError as error:
        return JSONResponse({"error": "invalid_request", "error_description": str(error)}, 400, NO_STORE)
    settings: Settings = request.app.state.settings
    until = claims["iat"] + LOGOUT_TOKEN_MAX_AGE + settings.leeway
    if not await sessions(request).first_use_of(claims["jti"], until):
        return JSONResponse(
            {"error": "invalid_request", "error_description": "This logout token was already used."}, 400, NO_STORE
        )
    await sessions(request).end_matching(sid=claims.get("sid"), sub=claims.get("sub"))
    return Response(status_code=200, headers=NO_STORE)


# endregion: backchannel-logout


@dataclass(frozen=True)
class SessionPanel:
    """What the learner's panel shows: the variant, its cookie, and when the session ends."""

    variant: str
    cookie: str
    holds: str
    store: str
    cookie_bytes: int | None = None  # the rest only while someone is logged in
    identity: str | None = None
    idle_ends_in: str | None = None
    ends_in: str | None = None
    ends_at: str | None = None
    token_expires_iso: str | None = None


def session_panel(request: Request) -> SessionPanel:
    variant, holds = request.app.state.variant
    cookie = storage(request).cookie
    store = sessions(request).where
    record: SessionRecord | None = getattr(request.state, "session_record", None)
    if request.user is None or record is None:
        return SessionPanel(variant, cookie, holds, store)
    settings: Settings = request.app.state.settings
    now = request.app.state.clock()
    idle_ends = min(record.last_used_at + settings.session_idle_timeout, record.expires_at)
    return SessionPanel(
        variant,
        cookie,
        holds,
        store,
        cookie_bytes=len(request.cookies.get(cookie, "")),
        identity=f"sid {record.sid}" if record.sid else f"record {record.key[:16]}…",
        idle_ends_in=_duration(idle_ends - now),
        ends_in=_duration(record.expires_at - now),
        ends_at=datetime.fromtimestamp(record.expires_at, UTC).strftime("%a %d %b %Y, %H:%M:%S UTC"),
        token_expires_iso=datetime.fromtimestamp(request.user["exp"], UTC).isoformat(),
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


# region: app
def session_handling_app(
    storage: TokenStorage, *, variant: str, holds: str, step: str, settings: Settings, session_cookie: str
) -> Starlette:
    """Step 03's app: the same four pages, with the session kept by `storage`.

    `variant` and `holds` name the storage and what its cookie holds, for the learner's panel.
    """
    routes = [
        Route("/", homepage),
        Route("/login", login),
        Route("/callback", callback),
        Route("/logout", logout),
        Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
    ]
    templates = Path(__file__).parent / "templates"
    app = build_app(
        routes,
        step=step,
        settings=settings,
        templates=templates,
        storage=storage,
        session_cookie=session_cookie,
        check_session=check_session,
    )
    app.state.sessions = open_store(settings.session_store_url, settings.state_dir)
    app.state.clock = time.time  # tests move time forward instead of sleeping
    app.state.variant = (variant, holds)
    return app


# endregion: app
