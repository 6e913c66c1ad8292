"""Rendering a step's pages, and the error pages every step shows instead of a traceback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from shared import headers
from shared.oidc import LoginError, TenantUnavailable
from shared.storage import SessionTooLarge

SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger("tutorial")


def templates(step_templates: Path) -> Jinja2Templates:
    """The step's own templates first, then the shared layout and error page."""
    loader = jinja2.FileSystemLoader([step_templates, SHARED_TEMPLATES])
    # auto_reload=False: no stat() of every template file per render; restart the step to see edits.
    return Jinja2Templates(env=jinja2.Environment(loader=loader, autoescape=True, auto_reload=False))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render one of the step's pages; `user` is whoever Check Session found (None: logged out)."""
    state = request.app.state
    context = {"step": state.step, "settings": state.settings, "user": request.scope.get("user"), **context}
    response: Response = state.templates.TemplateResponse(request, template, context, status_code=status_code)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status_code=status, title=title, message=message)


async def login_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginError)
    return error_page(request, exc.status, exc.title, exc.message)


async def tenant_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenantUnavailable)
    settings = request.app.state.settings
    hint = " Is the dev tenant running?" if settings.embedded else ""
    # At the callback the login's state is already spent: reloading would only say "no login in progress".
    again = "Start again from Log In" if request.url.path == urlsplit(settings.redirect_uri).path else "Try again"
    return error_page(request, exc.status, "Identity provider unreachable", f"{exc}{hint} {again} in a moment.")


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


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s", request.url.path)
    message = "The app hit an unexpected error; the console has the details."
    # Starlette sends this page from outside every middleware: it gets the headers here.
    return headers.add_to(error_page(request, 500, "Something went wrong", message), request.app.state.settings)


ERROR_PAGES = {
    LoginError: login_error,
    TenantUnavailable: tenant_unavailable,
    SessionTooLarge: session_too_large,
    HTTPException: http_error,
    Exception: server_error,
}
