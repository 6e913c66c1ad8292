"""What the API endpoints and the back-channel log (logs.py): each code exchange (seacft / feacft),
password login (sepft, fp, fu, limit_wc, fepft), sign-up (ss / fs) and logout token delivery
(oidc_backchannel_logout_succeeded / _failed), with Auth0's description of any failure and never a
code, token, secret or password."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from .clients import PASSWORD_REALM_GRANT
from .defaults import DATABASE_CONNECTION
from .oauth_errors import OAuthError
from .params import Params, valid_email

if TYPE_CHECKING:
    from .backchannel import SentLogoutToken
    from .models import User
    from .server import DevTenant

PASSWORD_GRANTS = ("password", PASSWORD_REALM_GRANT)


def _text(body: Params, name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def _client_id(request: Request, body: Params) -> str:
    """The client_id a request names, in its body or its Basic header (whose secret is never kept)."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            return unquote_plus(base64.b64decode(header[6:], validate=True).decode().split(":", 1)[0])
        except ValueError:
            return ""
    return _text(body, "client_id")


def exchange_facts(tenant: DevTenant, body: Params) -> dict[str, Any]:
    """What the log needs that the exchange uses up: the user an authorization code was issued for."""
    code = _text(body, "code")
    grant = tenant.codes.get(code) if code and _text(body, "grant_type") == "authorization_code" else None
    return {"user": grant.user if grant is not None else None}


def log_exchange(
    tenant: DevTenant, request: Request, body: Params, error: OAuthError | None, facts: dict[str, Any] | None = None
) -> None:
    grant = _text(body, "grant_type")
    client_id = _client_id(request, body)
    user: User | None = (facts or {}).get("user")
    details: dict[str, Any] = {"grant_type": grant[:100]}
    if grant in PASSWORD_GRANTS:
        realm = _text(body, "realm") or DATABASE_CONNECTION
        username = _text(body, "username")
        shown = username if valid_email(username) else ""
        if error is None:
            user = tenant.users.get(realm, username) if shown else None
            tenant.logs.record("sepft", "", request=request, client_id=client_id, user=user, user_name=shown)
            return
        event = "fepft"
        if error.error == "invalid_grant":  # Wrong email or password.
            known = bool(shown) and tenant.users.get(realm, username) is not None
            event = "fp" if known else "fu"
        elif error.error == "too_many_attempts":
            event = "limit_wc"
        tenant.logs.record(
            event,
            error.description,
            request=request,
            client_id=client_id,
            user_name=shown,
            connection=realm if realm == DATABASE_CONNECTION else None,
            details={**details, "error": error.error},
        )
        return
    if error is None:
        tenant.logs.record("seacft", "", request=request, client_id=client_id, user=user, details=details)
        return
    tenant.logs.record(
        "feacft",
        error.description,
        request=request,
        client_id=client_id,
        user=user,
        details={**details, "error": error.error},
    )


def log_signup(tenant: DevTenant, request: Request, body: Params, response: Response) -> None:
    """/dbconnections/signup: ss with the new user, or fs with Auth0's description of the refusal."""
    email = _text(body, "email")
    shown = email if valid_email(email) else ""
    client_id = _text(body, "client_id")
    try:
        answer = json.loads(bytes(response.body))
    except ValueError:
        answer = {}
    if response.status_code == 200:
        user = tenant.users.get(DATABASE_CONNECTION, email) if shown else None
        tenant.logs.record("ss", "", request=request, client_id=client_id, user=user, user_name=shown)
        return
    description = answer.get("description") if isinstance(answer.get("description"), str) else answer.get("message")
    tenant.logs.record(
        "fs",
        str(description or answer.get("code") or ""),
        request=request,
        client_id=client_id,
        user_name=shown,
        connection=DATABASE_CONNECTION,
        details={"error": str(answer.get("code", ""))[:100]},
    )


def _subject(logout_token: str) -> str:
    """The `sub` of a logout token this tenant signed, read from its payload (the token is not kept)."""
    try:
        payload = logout_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else ""


def log_delivery(tenant: DevTenant, sent: SentLogoutToken) -> None:
    """One POST of a logout token (or the decision not to send it), and how the app answered."""
    ok = sent.status_code == 200
    if ok:
        description = f"Logout token delivered to {sent.url}"
    else:
        answer = f"answered {sent.status_code}" if sent.status_code is not None else (sent.error or "no answer")
        description = f"Logout token to {sent.url}: {answer}"
    if sent.attempt > 1:
        description += f" (attempt {sent.attempt})"
    tenant.logs.record(
        "oidc_backchannel_logout_succeeded" if ok else "oidc_backchannel_logout_failed",
        description,
        client_id=sent.client_id,
        user_id=_subject(sent.logout_token),
        details={"url": sent.url, "status_code": sent.status_code, "error": sent.error, "attempt": sent.attempt},
    )


def log_not_configured(tenant: DevTenant, client_id: str, origin: str, user_id: str) -> None:
    """An app held the ended session, but no Back-Channel Logout URI of its application is on its origin."""
    tenant.logs.record(
        "oidc_backchannel_logout_failed",
        f"No Back-Channel Logout URI on {origin} in the application's settings: the app there was not told",
        client_id=client_id,
        user_id=user_id,
        details={"origin": origin, "dashboard": tenant.dashboard_url},
    )
