"""Only the tenant's own host names are answered: a DNS-rebinding page must not drive it.

A web page on `evil.example` can make its name resolve to 127.0.0.1 and then call the tenant from the
victim's browser, same-origin as far as the browser knows; its requests still say `Host: evil.example`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def own_hosts(issuer: str) -> list[str]:
    """The issuer's host name and the loopback aliases of it (ports are not compared)."""
    host = (urlsplit(issuer).hostname or "").lower()
    if ":" in host:  # urlsplit drops an IPv6 literal's brackets; the Host header keeps them
        host = f"[{host}]"
    return list(dict.fromkeys([host, *LOOPBACK]))


def only_own_hosts(issuer: str) -> Middleware:
    return Middleware(TrustedHostMiddleware, allowed_hosts=own_hosts(issuer), www_redirect=False)
