"""The app factory: a step's routes and its Check Session, plus what every step needs around them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from shared import pages
from shared.check_session import CheckSession, CheckSessionMiddleware, EraseIdToken, ReadIdToken
from shared.config import Settings
from shared.context import AppContext
from shared.cookies import RefuseOversizedCookies, cookie_name
from shared.errors import LoginError, TenantUnavailable
from shared.middleware.canonical_host import CanonicalHostMiddleware
from shared.middleware.csrf import CsrfMiddleware
from shared.middleware.head import HeadAsGet
from shared.middleware.headers import SecurityHeaders
from shared.middleware.redact import protect_logs
from shared.middleware.signed_cookie import ForgetUnreadableSignedCookie
from shared.tenant import Tenant

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("tutorial")


def build_app(
    routes: Sequence[BaseRoute],
    *,
    step: str,
    settings: Settings,
    templates: Path,
    signed_cookie: str,
    read_id_token: ReadIdToken,
    check_session: CheckSession,
    erase_id_token: EraseIdToken,
    oauth: Any,
    any_host: Sequence[str] = (),
    csrf_exempt: Sequence[str] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    context: Callable[[Settings, str, Jinja2Templates, str, Any], AppContext] = AppContext,
) -> Starlette:
    """A step's Starlette app: its routes and its Check Session (run once per request), wired in view.

    `oauth`: the step's Authlib client, as it registered it; at each start the factory lends it the
    tenant's checked discovery and connection pool (Tenant.lend_to in shared/tenant.py).
    `signed_cookie` names the step's SessionMiddleware cookie (the login in progress; the wrapper
    variant's id_token): each step has its own, so two steps in one browser never read each other's.
    `any_host`: paths a server calls (step 03's back-channel logout), answered on any host name.
    `csrf_exempt`: POST paths a server calls, not a browser: every other POST route gets the CSRF
    checks (origin and token, shared/middleware/csrf.py) before it runs.
    `on_shutdown`: what the step closes when the app stops (step 03's session records).
    `context`: makes the app's context from settings, step, templates and signed cookie name: a
    step's subclass of AppContext with what it keeps besides (step 03's records and holder).
    """
    protect_logs()  # the callback URL's code and the PKCE verifier never reach a log
    signed = cookie_name(signed_cookie, secure=settings.https)
    ctx = context(settings, step, pages.templates(templates), signed, oauth)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One connection pool per process, kept alive between requests to the tenant.
        transport = httpx2.AsyncHTTPTransport(verify=tls_context(settings.issuer))
        async with httpx2.AsyncClient(timeout=settings.http_timeout, transport=transport) as http:
            ctx.open(Tenant(settings, http, transport))
            # Discovery and the JWKS load in the background: the first page answers at once.
            warming = asyncio.create_task(_warm_up(ctx.tenant))
            yield
            warming.cancel()
            for close in on_shutdown:
                await close()

    app = Starlette(
        routes=[*routes, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[
            # Outermost, so every answer has them, redirects and error pages included (shared/middleware/headers.py).
            Middleware(SecurityHeaders, settings=settings),
            Middleware(HeadAsGet),  # HEAD answers as GET does, without the body (shared/middleware/head.py)
            Middleware(CanonicalHostMiddleware, base_url=settings.base_url, any_host=any_host),
            # Outside SessionMiddleware: it measures the signed cookie as that writes it.
            Middleware(RefuseOversizedCookies, page=pages.session_too_large),
            Middleware(ForgetUnreadableSignedCookie, cookie=signed, secure=settings.https),
            Middleware(
                SessionMiddleware,
                secret_key=settings.app_secret_key,
                session_cookie=signed,
                same_site="lax",
                https_only=settings.https,
            ),
            Middleware(
                CsrfMiddleware,
                base_url=settings.base_url,
                secret_key=settings.app_secret_key,
                read_id_token=read_id_token,
                routes=routes,
                exempt=csrf_exempt,
            ),
            Middleware(CheckSessionMiddleware, read=read_id_token, check=check_session, erase=erase_id_token),
        ],
        exception_handlers={**pages.ERROR_PAGES, HTTPException: pages.http_errors(server_paths=any_host)},
        lifespan=lifespan,
    )
    app.state.context = ctx
    return app


def tls_context(issuer: str) -> ssl.SSLContext:
    """The TLS context for talking to the tenant (loading the CA store is slow: do it once)."""
    if issuer.startswith("https://"):
        return httpx2.create_ssl_context()
    # The dev tenant speaks plain http on loopback: this context trusts nothing, so an https URL
    # reached by mistake fails verification instead of being trusted.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


async def _warm_up(tenant: Tenant) -> None:
    try:
        await tenant.warm_up()
    except (TenantUnavailable, LoginError) as error:
        log.warning("%s Logins will fail until it does.", error)
