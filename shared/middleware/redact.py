"""Keep one-time login secrets out of the logs, whatever level someone runs the app at.

uvicorn's access log prints each request's full URL, and /callback's URL carries the authorization
code and state; Authlib logs the PKCE code_verifier at DEBUG. Either, read from a log, is half of a
stolen login, so both are masked before any handler sees them.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

SECRET_PARAMETERS = {"code", "state", "code_verifier", "id_token", "access_token", "refresh_token", "password"}
MASK = "[redacted]"


def redact_query(path: str) -> str:
    """`/callback?code=abc&state=xyz` → `/callback?code=[redacted]&state=[redacted]`."""
    base, separator, query = path.partition("?")
    if not separator:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMETERS for name, _ in pairs):
        return path
    masked = [(name, MASK if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs]
    return f"{base}?{urlencode(masked, safe='[]')}"


class RedactAccessLog(logging.Filter):
    """uvicorn.access records are `'%s - "%s %s HTTP/%s" %d'` with the path and query as the third argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


class RedactCodeVerifier(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Using code_verifier"):
            record.msg, record.args = f"Using code_verifier: {MASK}", ()
        return True


_FILTERS = {
    "uvicorn.access": RedactAccessLog,
    "authlib.integrations.base_client.sync_app": RedactCodeVerifier,
}


def protect_logs() -> None:
    """Install the filters once per process (uvicorn's logging set-up keeps a logger's filters)."""
    for name, kind in _FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(existing, kind) for existing in logger.filters):
            logger.addFilter(kind())
