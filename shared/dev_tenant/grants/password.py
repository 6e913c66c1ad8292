"""grant_type=password and Auth0's password-realm: the custom login form's email and password."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..clients import DEFAULT_SCOPE, PASSWORD_REALM_GRANT, Client
from ..defaults import DATABASE_CONNECTION
from ..oauth_errors import BUSY, WRONG_PASSWORD, OAuthError, blocked_description
from ..params import Params, param
from .base import token_response

if TYPE_CHECKING:
    from ..server import DevTenant


async def password_grant(tenant: DevTenant, client: Client, body: Params, grant: str) -> Response:
    username = param(body, "username")
    password = param(body, "password")
    if grant == PASSWORD_REALM_GRANT:
        realm = param(body, "realm")
        if not realm:
            raise OAuthError(400, "invalid_request", "Missing required parameter: realm")
    else:
        # Plain `password` uses the tenant's default directory, as Auth0 does when one is set.
        realm = DATABASE_CONNECTION
    if not username:
        raise OAuthError(400, "invalid_request", "Missing required parameter: username")
    if not password:
        raise OAuthError(400, "invalid_request", "Missing required parameter: password")
    if realm != DATABASE_CONNECTION:
        raise OAuthError(400, "invalid_request", "the connection was not found")
    # scrypt is slow on purpose: off the event loop.
    outcome, user = await run_in_threadpool(tenant.users.authenticate, realm, username, password)
    if outcome == "blocked":
        raise OAuthError(429, "too_many_attempts", blocked_description(tenant.unblock_command(username)))
    if outcome == "busy":
        raise OAuthError(429, "too_many_attempts", BUSY)
    if outcome != "ok" or user is None:
        raise OAuthError(403, "invalid_grant", WRONG_PASSWORD)
    scope = param(body, "scope") or DEFAULT_SCOPE
    # No browser, so no SSO session: the sid is fresh and names no session a logout could end.
    return token_response(
        tenant, client, user, scope, nonce=None, sid=secrets.token_urlsafe(24), auth_time=int(tenant.now())
    )
