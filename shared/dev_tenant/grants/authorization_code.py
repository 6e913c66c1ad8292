"""grant_type=authorization_code: single use, short-lived, bound to client, redirect_uri and PKCE."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from starlette.responses import Response

from ..clients import Client
from ..oauth_errors import OAuthError
from ..params import Params, param
from ..signing import b64url
from .base import token_response

if TYPE_CHECKING:
    from ..server import DevTenant


TOO_MANY_HOLDERS = "Too many applications hold this login session already; log out and log in again to start a new one."


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


def exchange_code(tenant: DevTenant, client: Client, body: Params) -> Response:
    code = param(body, "code")
    if not code:
        raise OAuthError(400, "invalid_request", "Missing required parameter: code")
    redirect_uri = param(body, "redirect_uri")
    verifier = param(body, "code_verifier")
    grant = tenant.codes.pop(code)  # single use, even when the exchange fails below
    # One message for unknown, expired and someone else's code: a guesser learns nothing.
    if grant is None or grant.client_id != client.client_id:
        raise OAuthError(403, "invalid_grant", "Invalid authorization code")
    if redirect_uri != grant.redirect_uri:
        raise OAuthError(403, "invalid_grant", "Invalid redirect_uri")
    if grant.code_challenge is None:
        # A verifier for a login that sent no challenge means the request was tampered with.
        if verifier:
            raise OAuthError(403, "invalid_grant", "Failed to verify code verifier")
    else:
        if not verifier:
            raise OAuthError(403, "invalid_grant", "Missing required parameter: code_verifier")
        if not hmac.compare_digest(s256(verifier), grant.code_challenge):
            raise OAuthError(403, "invalid_grant", "Failed to verify code verifier")
    # A code is only as good as the login behind it: once that SSO session has ended (a logout, or its
    # expiry) a code issued from it must not start a new app session.
    session = tenant.sessions.get(grant.sid)
    if session is None:
        raise OAuthError(403, "invalid_grant", "Invalid authorization code")
    # Redeemed with the client's own credentials: from now on this app is told when the session ends.
    if not tenant.backchannel.remember(session, client.client_id, grant.redirect_uri):
        raise OAuthError(403, "access_denied", TOO_MANY_HOLDERS)
    return token_response(
        tenant, client, grant.user, grant.scope, nonce=grant.nonce, sid=grant.sid, auth_time=grant.auth_time, sso=True
    )
