"""Rendering of the hosted pages (login, sign-up, Google chooser, errors, logout) from templates/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

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
    heading: str, description: str = "", *, error: str = "", hint: str = "", status_code: int = 400
) -> HTMLResponse:
    """A page with a heading and a sentence: errors (with Auth0's error code), the logged-out page."""
    return render("message.html", status_code, heading=heading, description=description, error=error, hint=hint)


def expired_page() -> HTMLResponse:
    return message_page(
        "This login page has expired",
        "The login request is unknown, expired, or was started in another browser.",
        error="invalid_request",
        hint="Go back to the application and start the login again.",
    )


def logged_out_page() -> HTMLResponse:
    return message_page("You are logged out", "Your session at the local dev tenant has ended.", status_code=200)


def avatar_svg(initials: str, color: str) -> str:
    return env.get_template("avatar.svg").render(initials=initials, color=color)
