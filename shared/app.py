"""The app factory: a step's routes, plus what every step needs around them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from shared import pages
from shared.config import Settings
from shared.headers import SecurityHeaders
from shared.hosts import CanonicalHostMiddleware
from shared.oidc import LoginError, OidcClient, TenantUnavailable
from shared.redact import protect_logs
from shared.session_check import CheckSession, SessionCheck, verify_id_token
from shared.sessions import ForgetUnreadableSession
from shared.storage import TokenStorage, cookie_name

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("tutorial")


def build_app(
    routes: Sequence[BaseRoute],
    *,
    step: str,
    settings: Settings,
    templates: Path,
    storage: TokenStorage,
    session_cookie: str,
    check_session: SessionCheck = verify_id_token,
) -> Starlette:
    """A step's Starlette app: its routes, its storage and its Check Session, wired in view.

    `session_cookie` names the step's signed session (the login in progress; the wrapper variant's
    id_token): each step has its own, so two steps in one browser never read each other's.
    """
    protect_logs()  # the callback URL's code and the PKCE verifier never reach a log

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One connection pool per process, kept alive between requests to the tenant.
        transport = httpx2.AsyncHTTPTransport(verify=tls_context(settings.issuer))
        async with httpx2.AsyncClient(timeout=settings.http_timeout, transport=transport) as http:
            app.state.oidc = OidcClient(settings, http, transport)
            # Discovery and the JWKS load in the background: the first page answers at once.
            warming = asyncio.create_task(_warm_up(app.state.oidc))
            yield
            warming.cancel()

    session = cookie_name(session_cookie, secure=settings.https)
    app = Starlette(
        routes=[*routes, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[
            # Outermost, so every answer has them, redirects and error pages included (shared/headers.py).
            Middleware(SecurityHeaders, settings=settings),
            Middleware(CanonicalHostMiddleware, base_url=settings.base_url),
            Middleware(ForgetUnreadableSession, cookie=session, secure=settings.https),
            Middleware(
                SessionMiddleware,
                secret_key=settings.app_secret_key,
                session_cookie=session,
                same_site="lax",
                https_only=settings.https,
            ),
            Middleware(CheckSession, storage=storage, check=check_session),
        ],
        exception_handlers=pages.ERROR_PAGES,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.step = step
    app.state.templates = pages.templates(templates)
    app.state.storage = storage
    app.state.session_cookie = session  # for the size guard of what shared/profile.py keeps there
    return app


def tls_context(issuer: str) -> ssl.SSLContext:
    """The TLS context for talking to the tenant (loading the CA store takes ~0.1-0.3 s: do it once)."""
    if issuer.startswith("https://"):
        return httpx2.create_ssl_context()
    # The dev tenant speaks plain http on loopback: this context trusts nothing, so an https URL
    # reached by mistake fails verification instead of being trusted.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


async def _warm_up(client: OidcClient) -> None:
    try:
        await client.warm_up()
    except (TenantUnavailable, LoginError) as error:
        log.warning("%s Logins will fail until it does.", error)


def oidc(request: Request) -> OidcClient:
    client: OidcClient = request.app.state.oidc
    return client


def storage(request: Request) -> TokenStorage:
    kept: TokenStorage = request.app.state.storage
    return kept
