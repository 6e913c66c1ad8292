"""Rendering a step's pages, and the error pages every step shows instead of a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import jinja2
from authlib.common.errors import AuthlibBaseError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from shared.context import context
from shared.errors import CookieTooLarge, LoginError, TenantUnavailable
from shared.middleware import headers
from shared.middleware.csrf import csrf_token
from shared.tenant import unavailable
from shared.tokens import TokenError

SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger("tutorial")


def templates(step_templates: Path) -> Jinja2Templates:
    """The step's own templates first, then the shared layout and error page."""
    loader = jinja2.FileSystemLoader([step_templates, SHARED_TEMPLATES])
    # auto_reload=False: no stat() of every template file per render; restart the step to see edits.
    env = jinja2.Environment(loader=loader, autoescape=True, auto_reload=False)
    env.globals.update(csrf_token=csrf_token, display_name=display_name)
    return Jinja2Templates(env=env)


def display_name(user: Mapping[str, Any]) -> str:
    """The one name a page calls the user by, as the original sample's "Welcome {nickname}"."""
    return str(user.get("nickname") or user.get("name") or user.get("email") or user.get("sub"))


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """Render one of the step's pages; `user` is whoever Check Session found (None: logged out)."""
    ctx = context(request)
    values = {"step": ctx.step, "settings": ctx.settings, "user": request.scope.get("user"), **values}
    response: Response = ctx.templates.TemplateResponse(request, template, values, status_code=status_code)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status_code=status, title=title, message=message)


async def login_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginError)
    return error_page(request, exc.status, exc.title, exc.message)


async def token_refused(request: Request, exc: Exception) -> Response:
    """The id_token the tenant just sent does not verify (a wrong nonce, audience, signature …)."""
    return error_page(request, 401, "Login refused", str(exc))


async def tenant_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenantUnavailable)
    settings = context(request).settings
    if exc.unresolved:
        return error_page(request, exc.status, "Identity provider not found", str(exc))
    if exc.plain_http:
        return error_page(request, exc.status, "Identity provider speaks plain http", str(exc))
    hint = " Is the dev tenant running?" if settings.embedded else ""
    # At the callback the login's state is already spent: reloading would only say "no login in progress".
    again = "Start again from Log In" if request.url.path == urlsplit(settings.redirect_uri).path else "Try again"
    return error_page(request, exc.status, "Identity provider unreachable", f"{exc}{hint} {again} in a moment.")


async def no_answer(request: Request, exc: Exception) -> Response:
    """An HTTP call to the tenant that got no answer (the code exchange, made by Authlib)."""
    assert isinstance(exc, httpx2.HTTPError)
    return await tenant_unavailable(request, unavailable(context(request).settings.issuer, exc))


async def code_exchange_refused(request: Request, exc: Exception) -> Response:
    """The tenant's token endpoint refused the code exchange (Authlib raises OAuthError, or another of its errors)."""
    assert isinstance(exc, AuthlibBaseError)
    # `access_denied` or `invalid_client` from the token endpoint (not from the browser) means the
    # tenant refused this app's client credentials.
    if exc.error in ("access_denied", "invalid_client", "unauthorized_client"):
        message = (
            f"The tenant refused this application's credentials ({exc.error}: {exc.description}). "
            "Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (uv run python -m shared.doctor tests them)."
        )
        return error_page(request, 502, "Tenant refused the application", message)
    return error_page(request, 400, "Login failed", f"The tenant refused the login: {exc.description or exc.error}.")


async def session_too_large(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, "Session too large", str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Page not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "Request refused")
    response = error_page(request, exc.status_code, title, exc.detail)
    response.headers.update(exc.headers or {})  # e.g. the Allow header of a 405
    if exc.status_code == 405 and "allow" not in response.headers:
        response.headers["allow"] = "GET, HEAD"  # StaticFiles refuses other methods without saying so
    return response


def http_errors(server_paths: Sequence[str]) -> Callable[[Request, Exception], Awaitable[Response]]:
    """HTTPException's answer: a page for a person; on the paths a server calls (step 03's back-channel
    logout), the OAuth error JSON its caller reads (Back-Channel Logout 1.0 §2.8), never a page."""

    async def handler(request: Request, exc: Exception) -> Response:
        if request.url.path not in server_paths:
            return await http_error(request, exc)
        assert isinstance(exc, HTTPException)
        body = {"error": "invalid_request", "error_description": exc.detail}
        headers = {**(exc.headers or {}), "Cache-Control": "no-store"}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    return handler


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s", request.url.path)
    message = "The app hit an unexpected error; the console has the details."
    # Starlette sends this page from outside every middleware: it gets the headers here.
    return headers.add_to(error_page(request, 500, "Something went wrong", message), context(request).settings)


ERROR_PAGES = {
    LoginError: login_error,
    TokenError: token_refused,
    TenantUnavailable: tenant_unavailable,
    httpx2.HTTPError: no_answer,
    AuthlibBaseError: code_exchange_refused,
    CookieTooLarge: session_too_large,
    HTTPException: http_error,
    Exception: server_error,
}
