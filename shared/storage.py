"""Where the browser keeps the id_token between requests: the tutorial's two storage listings.

Both keep only the id_token, which the tenant signed; the app verifies it again on every check.
Neither is readable by JavaScript (HttpOnly): the original tutorial's `localStorage` was, so any
script injected into the page could steal the session.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

MAX_COOKIE_BYTES = 4096  # browsers silently drop a cookie larger than this (RFC 6265 §6.1 minimum)


class SessionTooLarge(Exception):
    """The id_token would not fit in a cookie; the browser would silently drop it."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The session would need a {size}-byte cookie; browsers drop cookies over {MAX_COOKIE_BYTES} bytes. "
            "Remove custom claims added to the id_token (Auth0 Actions) to make it smaller."
        )
        self.size = size


class TokenStorage(Protocol):
    """Where a step keeps the id_token between requests: save it, read it back, erase it."""

    cookie: str  # the cookie the browser keeps it in

    def save(self, request: Request, response: Response, id_token: str) -> None: ...

    def read(self, request: Request) -> str | None: ...

    def erase(self, request: Request, response: Response) -> None: ...


class CookieStorage:
    """The id_token alone, in an HttpOnly cookie of its own (the tutorial's `localStorage` listing).

    The cookie is not signed by the app: the id_token inside is signed by the tenant, and Check
    Session verifies it again on every request.
    """

    def __init__(self, cookie: str, *, secure: bool, max_age: int = 10 * 60 * 60) -> None:  # Auth0's id_token lifetime
        self.cookie = cookie_name(cookie, secure=secure)
        self.secure = secure  # Secure flag whenever the app is served over https
        self.max_age = max_age

    def save(self, request: Request, response: Response, id_token: str) -> None:
        response.set_cookie(
            self.cookie, id_token, max_age=self.max_age, httponly=True, samesite="lax", secure=self.secure
        )
        # A browser silently drops a cookie over 4 KB: refuse with a clear error page instead.
        check_cookie_size(len(response.headers["set-cookie"]))

    def read(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie)

    def erase(self, request: Request, response: Response) -> None:
        response.delete_cookie(self.cookie, httponly=True, samesite="lax", secure=self.secure)


def check_cookie_size(size: int) -> None:
    """Refuse a cookie the browser would silently drop: raise SessionTooLarge instead."""
    if size > MAX_COOKIE_BYTES:
        raise SessionTooLarge(size)


def session_cookie_size(session: Mapping[str, Any], cookie_name: str) -> int:
    """An upper bound on the Set-Cookie header Starlette's SessionMiddleware will send for `session`.

    It holds base64(JSON), then what itsdangerous appends: "." + a timestamp + "." + an HMAC.
    """
    payload = base64.b64encode(json.dumps(session).encode())
    signature = 1 + 8 + 1 + 27  # timestamp: 6 base64 characters today (8 allowed); HMAC-SHA1: 27
    attributes = 100  # "; path=/; Max-Age=1209600; httponly; samesite=lax; secure", with room to spare
    return len(cookie_name) + 1 + len(payload) + signature + attributes


def cookie_name(name: str, *, secure: bool) -> str:
    """`name`, with the `__Host-` prefix when the app is served over https.

    Browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain: a sibling subdomain
    cannot plant or overwrite it. Plain http (localhost) cannot use the prefix at all.
    """
    return f"__Host-{name}" if secure else name
