"""Reading request parameters: bounded bodies, strings only, errors in Auth0's OAuth shape."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from .oauth_errors import OAuthError

MAX_BODY = 64 * 1024  # far above any real request; a cap keeps a hostile body from filling memory
MAX_PARAM = 2048  # state, nonce, scope: a login transaction keeps them, so each is capped
MAX_EMAIL = 320  # a 64-character local part, @, a 255-character domain
MAX_PASSWORD = 1024  # longer passwords are refused, never cut: a bound on the work one request causes

Params = dict[str, Any]


def normalise_email(email: str) -> str:
    """One spelling per address: NFKC, so that a composed and a decomposed "é" are one user, and so are
    the full-width "ｄemo@example.com" and "demo@example.com" (a look-alike must not be a second account).

    NFKC again after lowering: lowering can leave a string NFKC would still change, and a stored email
    must be its own normal form, or looking it up again would miss it."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).lower())


def has_control_characters(text: str) -> bool:
    """NUL, other controls, format characters (zero-width, bidi overrides), surrogates, unassigned."""
    return any(unicodedata.category(c)[0] == "C" for c in text)


def valid_email(email: str) -> bool:
    if not email or len(email) > MAX_EMAIL or any(c.isspace() for c in email) or has_control_characters(email):
        return False
    local, _, domain = email.rpartition("@")
    return bool(local) and "." in domain and not domain.startswith(".") and not domain.endswith(".")


def param(body: Params, name: str) -> str | None:
    """A string parameter, None when absent or empty; a JSON number or object is a 400."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OAuthError(400, "invalid_request", f"Invalid parameter: {name} must be a string")
    return value


async def read_params(request: Request, json_ok: bool = True) -> Params:
    """Read a form or JSON body, with a size limit; errors in Auth0's OAuth error shape."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise OAuthError(413, "invalid_request", "Request body too large")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise OAuthError(413, "invalid_request", "Request body too large")
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not raw:
        return {}
    if ctype == "application/json" and json_ok:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            raise OAuthError(400, "invalid_request", "Malformed JSON body") from None
        if not isinstance(data, dict):
            raise OAuthError(400, "invalid_request", "The JSON body must be an object")
        # JSON may spell a lone surrogate ("\ud800"), which no UTF-8 encoder, hash or database accepts.
        for name, value in data.items():
            if isinstance(value, str) and not _encodable(value):
                raise OAuthError(400, "invalid_request", f"Invalid parameter: {_printable(name)} is not valid UTF-8")
        return data
    if ctype == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", "Malformed form body") from None
    raise OAuthError(415, "invalid_request", f"Unsupported content type: {ctype or 'none'}")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    return name.encode("utf-8", "replace").decode("utf-8")[:40]
