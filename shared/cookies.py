"""Cookie helpers every step uses: the `__Host-` prefix over https, and the 4 KB size guard."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from shared.errors import SessionTooLarge

MAX_COOKIE_BYTES = 4096  # browsers silently drop a cookie larger than this (RFC 6265 §6.1 minimum)
ID_TOKEN_MAX_AGE = 10 * 60 * 60  # seconds: Auth0's id_token lifetime; the cookie need not outlive it


def cookie_name(name: str, *, secure: bool) -> str:
    """`name`, with the `__Host-` prefix when the app is served over https.

    Browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain: a sibling subdomain
    cannot plant or overwrite it. Plain http (localhost) cannot use the prefix at all.
    """
    return f"__Host-{name}" if secure else name


def check_cookie_size(size: int) -> None:
    """Refuse a cookie the browser would silently drop: raise SessionTooLarge (a 400 page) instead."""
    if size > MAX_COOKIE_BYTES:
        raise SessionTooLarge(size, MAX_COOKIE_BYTES)


def signed_cookie_size(session: Mapping[str, Any], cookie_name: str) -> int:
    """An upper bound on the Set-Cookie header Starlette's SessionMiddleware will send for `session`.

    It holds base64(JSON), then what itsdangerous appends: "." + a timestamp + "." + an HMAC.
    """
    payload = base64.b64encode(json.dumps(session).encode())
    signature = 1 + 8 + 1 + 27  # timestamp: 6 base64 characters today (8 allowed); HMAC-SHA1: 27
    attributes = 100  # "; path=/; Max-Age=1209600; httponly; samesite=lax; secure", with room to spare
    return len(cookie_name) + 1 + len(payload) + signature + attributes
