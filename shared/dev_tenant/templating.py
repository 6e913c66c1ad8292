"""Rendering of the hosted pages (login, sign-up, Google chooser, errors, logout) from templates/."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from .security_headers import PAGE_CSP

# Found next to this module, never from the working directory: a step may be started from anywhere.
TEMPLATES = Path(__file__).resolve().parent / "templates"

# The templates ship with the code and never change while the tenant runs: no per-render disk check.
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    auto_reload=False,
)

# Security headers for every hosted page: no framing (clickjacking of the login form), no caching.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": PAGE_CSP,
    "Referrer-Policy": "no-referrer",
}


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**context), status_code=status_code, headers=PAGE_HEADERS)


def message_page(
    heading: str,
    description: str = "",
    *,
    error: str = "",
    hint: str = "",
    status_code: int = 400,
    back_url: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page with a heading and a sentence: errors (with Auth0's error code), the logged-out page."""
    response = render(
        "message.html", status_code, heading=heading, description=description, error=error, hint=hint, back_url=back_url
    )
    response.headers.update(headers or {})
    return response


def app_origin(redirect_uri: str) -> str:
    """The home of the app behind a registered callback URL: where a dead-end page can send a person back."""
    parts = urlsplit(redirect_uri)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else ""


def expired_page(redirect_uri: str = "") -> HTMLResponse:
    """`redirect_uri`: the login's registered callback, when the tenant still knows which login it was."""
    back_url = app_origin(redirect_uri)
    if back_url:
        hint = "Go back to the application and start the login again."
    else:
        hint = (
            "The tenant no longer knows which application started this login: return to that application's "
            "tab or window and choose Log In again."
        )
    return message_page(
        "This login page has expired",
        "The login request is unknown, expired, or was started in another browser.",
        error="invalid_request",
        hint=hint,
        back_url=back_url,
    )


def logged_out_page() -> HTMLResponse:
    return message_page("You are logged out", "Your session at the local dev tenant has ended.", status_code=200)


def avatar_svg(initials: str, color: str) -> str:
    return env.get_template("avatar.svg").render(initials=initials, color=color)


def wants_html(request: Request) -> bool:
    """A browser asks for text/html; API clients (httpx, Authlib, curl) ask for JSON or anything."""
    return "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, exc: Exception) -> Response:
    """404 and 405: a page in the tenant's look for a person, the JSON shape of Auth0's APIs for a client."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})  # a 405 keeps its Allow
    if not wants_html(request):
        body = {"statusCode": exc.status_code, "error": exc.detail, "message": exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    if exc.status_code == 405:
        heading, description = (
            "This page cannot be opened this way",
            "This address only answers a form or an application, not a visit.",
        )
    else:
        heading, description = "Page not found", "There is nothing at this address on the local dev tenant."
    return message_page(
        heading,
        description,
        hint="Check the address, or go back to the application and start the login again.",
        status_code=exc.status_code,
        headers=headers,
    )


EXCEPTION_HANDLERS = {404: http_error, 405: http_error}
