"""Who logged in, when the provider keeps the profile in /userinfo instead of the id_token.

Auth0's id_tokens carry name, nickname, email and picture; many providers' carry only `sub`, and the
profile comes from /userinfo (OpenID Connect Core §5.3). What is stored stays the id_token alone,
verified on every request. The few display claims /userinfo gave at login sit next to it in the step's
signed cookie (SessionMiddleware, APP_SECRET_KEY): small, unchangeable by the browser, and keyed to
the `sub` they belong to, so they are shown only beside a verified id_token of that same user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from shared.tenant import Tenant
from shared.tokens import Claims

PROFILE = "profile"  # the session key
DISPLAY_CLAIMS = ("name", "nickname", "email", "picture")
MAX_CLAIM = 200  # characters per claim: a page header needs no more, and the cookie must stay small
MAX_PICTURE = 500


def has_display_claims(claims: Mapping[str, Any]) -> bool:
    return any(isinstance(claims.get(name), str) and claims[name] for name in DISPLAY_CLAIMS[:3])


def display_claims(userinfo: Mapping[str, Any]) -> dict[str, str]:
    """The display claims worth keeping: strings only, trimmed; a picture only as an http(s) URL."""
    kept: dict[str, str] = {}
    for name in DISPLAY_CLAIMS:
        value = userinfo.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        if name == "picture":
            # Shown as <img src>: anything but http(s) (javascript:, data:) is dropped, and a long URL is useless.
            if not value.startswith(("https://", "http://")) or len(value) > MAX_PICTURE:
                continue
            kept[name] = value
        else:
            kept[name] = value.strip()[:MAX_CLAIM]
    return kept


def remember(request: Request, sub: str, userinfo: Mapping[str, Any] | None) -> None:
    """Keep `userinfo`'s display claims for `sub` in the signed cookie (none: forget any earlier ones)."""
    request.session.pop(PROFILE, None)
    kept = display_claims(userinfo or {})
    if not kept:
        return
    # The factory's size guard refuses the login if this makes the signed cookie too large.
    request.session[PROFILE] = {"sub": sub, **kept}


async def remember_after_login(request: Request, tenant: Tenant, claims: Claims, access_token: str) -> None:
    """At login, in the fresh signed cookie: /userinfo's display claims when the id_token has none."""
    userinfo = None if has_display_claims(claims) else await tenant.userinfo(access_token, claims["sub"])
    remember(request, claims["sub"], userinfo)


def attach(request: Request, claims: Claims) -> Claims:
    """The verified claims, with the remembered display claims of the same `sub` filled in where missing."""
    kept = request.session.get(PROFILE) if "session" in request.scope else None
    if not isinstance(kept, dict) or kept.get("sub") != claims.get("sub"):
        return claims
    extra = {name: kept[name] for name in DISPLAY_CLAIMS if isinstance(kept.get(name), str) and name not in claims}
    return Claims({**claims, **extra}) if extra else claims


def forget(request: Request) -> None:
    """Nobody is logged in any more: drop what was remembered (a no-op, with no cookie rewrite, when nothing was)."""
    if "session" in request.scope and PROFILE in request.session:
        del request.session[PROFILE]
