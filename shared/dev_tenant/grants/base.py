"""The token response every grant ends with: an opaque access token and, for `openid`, an id_token."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from ..clients import Client
from ..models import ACCESS_TOKEN_TTL, ID_TOKEN_TTL, AccessToken, User
from ..oauth_errors import NO_STORE

if TYPE_CHECKING:
    from ..server import DevTenant


def token_response(
    tenant: DevTenant,
    client: Client,
    user: User,
    scope: str,
    *,
    nonce: str | None,
    sid: str,
    auth_time: int,
    sso: bool = False,
) -> JSONResponse:
    """`sso=True`: `sid` names the tenant's SSO session, and the access token lives no longer than it."""
    now = tenant.now()
    access_token = secrets.token_urlsafe(32)
    tenant.access_tokens.put(
        access_token,
        AccessToken(
            user=user,
            scope=scope,
            client_id=client.client_id,
            expires=now + ACCESS_TOKEN_TTL,
            sid=sid if sso else None,
        ),
    )
    answer: dict[str, Any] = {"access_token": access_token}
    if "openid" in scope.split():
        claims = {
            # A generic provider keeps the profile in /userinfo (OIDC Core 5.4 allows either).
            **({"sub": user.user_id} if tenant.generic else user.claims(scope)),
            "iss": tenant.issuer,
            "aud": client.client_id,
            "iat": int(now),
            "exp": int(now) + ID_TOKEN_TTL,
            "sid": sid,
            "auth_time": auth_time,
        }
        if nonce:
            claims["nonce"] = nonce
        # Through the façade, so that tests/security can watch every id_token signed.
        answer["id_token"] = tenant._sign_id_token(client, claims)
    answer.update(scope=scope, expires_in=ACCESS_TOKEN_TTL, token_type="Bearer")
    return JSONResponse(answer, headers=NO_STORE)
