"""The plumbing each step's app shares: app factory, templates, static files, error pages, session check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx2
import jinja2
import jinja2.ext
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.config import Settings, load_settings
from shared.oidc import LoginError, OidcClient, TenantUnavailable
from shared.redact import protect_logs
from shared.sessions import SessionMiddleware
from shared.storage import CookieStorage, SessionTooLarge, TokenStorage
from shared.tokens import Claims, TokenError

HERE = Path(__file__).resolve().parent
log = logging.getLogger("tutorial")


class CanonicalHostMiddleware:
    """Send the browser to the configured host before anything else happens.

    A login started on 127.0.0.1 and finished on localhost (the callback URL) loses its state cookie:
    browsers keep cookies per host name. Redirecting first avoids Authlib's "mismatching state" error,
    and only ever redirects to APP_BASE_URL, so a forged Host header cannot become an open redirect.
    """

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.base_url = base_url
        self.host = base_url.split("://", 1)[1].encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host")
            if host != self.host:
                path = scope.get("raw_path") or scope["path"].encode()
                if not path.startswith(b"/"):
                    # `GET @attacker.example` would make http://localhost:3000@attacker.example.
                    path = b"/"
                query = b"?" + scope["query_string"] if scope["query_string"] else b""
                response = RedirectResponse(self.base_url + (path + query).decode("latin-1"), status_code=307)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FragmentCache(jinja2.ext.Extension):
    """`{% cache key %}…{% endcache %}`: render a block once per key and reuse it (None: no caching).

    The key must name everything the block shows. The 1,024 most recently used blocks are kept.
    """

    tags = {"cache"}  # noqa: RUF012 (jinja2.ext.Extension declares it so)
    size = 1024

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self.blocks: OrderedDict[Any, str] = OrderedDict()

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", [key]), [], [], body).set_lineno(lineno)

    def _render(self, key: Any, caller: Callable[[], str]) -> str:
        if key is None:
            return caller()
        if (block := self.blocks.get(key)) is None:
            block = self.blocks[key] = caller()
            if len(self.blocks) > self.size:
                self.blocks.popitem(last=False)
        return block


def _templates(step_templates: Path | None) -> Jinja2Templates:
    folders = [str(step_templates)] if step_templates else []
    loader = jinja2.FileSystemLoader([*folders, str(HERE / "templates")])
    # auto_reload=False: no stat() of every template file per render; restart to see template edits.
    env = jinja2.Environment(loader=loader, autoescape=True, auto_reload=False, extensions=[FragmentCache])
    return Jinja2Templates(env=env)


def tls_context(issuer: str) -> ssl.SSLContext:
    """The TLS context for talking to the tenant (loading the CA store takes ~0.1-0.3 s: do it once)."""
    if issuer.startswith("https://"):
        return httpx2.create_ssl_context()
    # The dev tenant speaks plain http on loopback, so no CA store is needed: this context trusts
    # nothing, and any https URL reached by mistake fails verification instead of being trusted.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def build_app(
    routes: Sequence[BaseRoute],
    *,
    step: str,
    settings: Settings | None = None,
    templates: Path | None = None,
    storage: TokenStorage | None = None,
) -> Starlette:
    """A step's Starlette app: its routes plus everything every step needs around them."""
    settings = settings or load_settings()
    protect_logs()  # the callback URL's code and Authlib's PKCE verifier never reach a log

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One connection pool per process, kept alive between requests to the tenant.
        transport = httpx2.AsyncHTTPTransport(verify=tls_context(settings.issuer))
        async with httpx2.AsyncClient(timeout=10, transport=transport) as http:
            app.state.oidc = OidcClient(settings, http, transport)
            # Discovery and the JWKS load in the background: the app answers its first page at once,
            # and neither is ever fetched on a visitor's request path once this is done.
            warming = asyncio.create_task(_warm_up(app.state.oidc))
            yield
            warming.cancel()

    app = Starlette(
        routes=[*routes, Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[
            Middleware(CanonicalHostMiddleware, base_url=settings.base_url),
            # Authlib keeps the login's state, nonce and PKCE verifier here between /login and /callback.
            Middleware(
                SessionMiddleware, secret_key=settings.app_secret_key, same_site="lax", https_only=settings.https
            ),
        ],
        exception_handlers={
            LoginError: _login_error,
            TenantUnavailable: _tenant_unavailable,
            SessionTooLarge: _session_too_large,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.step = step
    app.state.templates = _templates(templates)
    app.state.storage = storage or CookieStorage(secure=settings.https)
    return app


async def _warm_up(client: OidcClient) -> None:
    try:
        await client.warm_up()
    except (TenantUnavailable, LoginError) as error:
        log.warning("%s Logins will fail until it does.", error)


def oidc(request: Request) -> OidcClient:
    return request.app.state.oidc


def storage(request: Request) -> TokenStorage:
    return request.app.state.storage


async def current_user(request: Request) -> Claims | None:
    """Check Session: the stored id_token's claims if it still verifies, else None (and forget it)."""
    id_token = storage(request).read(request)
    if not id_token:
        return None
    try:
        return await oidc(request).verify(id_token)
    except TokenError:
        request.state.forget_session = True  # render() erases it from the response
        return None


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render a page of the step; erase a session that failed its check on the way."""
    context.setdefault("user", None)
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"step": request.app.state.step, "settings": request.app.state.settings, **context},
        status_code=status_code,
    )
    if getattr(request.state, "forget_session", False):
        storage(request).erase(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status_code=status, title=title, message=message)


async def _login_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginError)
    return error_page(request, exc.status, exc.title, exc.message)


async def _tenant_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenantUnavailable)
    hint = " Is the dev tenant running?" if request.app.state.settings.embedded else ""
    return error_page(request, 503, "Identity provider unreachable", f"{exc}{hint} Try again in a moment.")


async def _session_too_large(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, "Session too large", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Page not found", 405: "Method not allowed"}
    return error_page(request, exc.status_code, titles.get(exc.status_code, "Request refused"), exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s", request.url.path)
    return error_page(
        request, 500, "Something went wrong", "The app hit an unexpected error; the console has the details."
    )
