"""Only the tenant's own host names are answered: a DNS-rebinding page must not drive it.

A web page on `evil.example` can make its name resolve to 127.0.0.1 and then call the tenant from the
victim's browser, same-origin as far as the browser knows; its requests still say `Host: evil.example`.
"""

from __future__ import annotations

import ipaddress
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


def is_loopback_host(host: str) -> bool:
    """Whether a host name is this machine: localhost, 127.0.0.0/8 or ::1 (the tenant's own copy of the app's
    rule, so that the tenant imports nothing from the apps it serves)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
