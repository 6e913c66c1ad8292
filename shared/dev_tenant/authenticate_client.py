"""Client authentication at /oauth/token: client_secret_post and client_secret_basic."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus

from starlette.requests import Request

from .clients import Client
from .oauth_errors import OAuthError
from .params import Params, param


def authenticate_client(request: Request, body: Params, clients: Mapping[str, Client]) -> Client:
    """The client whose id and secret came in the body or in an HTTP Basic header; a 401 otherwise.
    Auth0 answers every failure the same way, so a caller cannot tell a wrong id from a wrong secret."""
    client_id = param(body, "client_id")
    secret = param(body, "client_secret")
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
            basic_id, basic_secret = decoded.split(":", 1)
        except ValueError:
            raise OAuthError(401, "access_denied", "Unauthorized") from None
        # RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
        basic_id, basic_secret = unquote_plus(basic_id), unquote_plus(basic_secret)
        if client_id and client_id != basic_id:
            raise OAuthError(400, "invalid_request", "client_id in body and header do not match")
        client_id, secret = basic_id, basic_secret
    if not client_id:
        raise OAuthError(401, "access_denied", "Unauthorized")
    client = clients.get(client_id)
    if client is None or not secret or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
        raise OAuthError(401, "access_denied", "Unauthorized")
    return client
