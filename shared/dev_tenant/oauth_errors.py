"""Errors in Auth0's two JSON shapes: OAuth's (/oauth/token) and the Management-style one (/dbconnections)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

# Token responses and their errors must never be cached (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

WRONG_PASSWORD = "Wrong email or password."
# Too many logins of one account at the same moment to check them all in time; nothing is blocked.
BUSY = "Too many login attempts for this account at once. Try again in a moment."


def blocked_description(unblock_command: str) -> str:
    """`too_many_attempts`: Auth0's first sentence; its second promises an email, which the dev tenant
    never sends, so this one names the command that lifts the block."""
    return (
        "Your account has been blocked after multiple consecutive login attempts. "
        f"The dev tenant sends no email: to unblock it, run {unblock_command}"
    )


class OAuthError(Exception):
    """{"error", "error_description"} with a status, as Auth0's /oauth/token answers."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, status_code=self.status, headers=NO_STORE
        )


def api_error(
    code: str, description: Any, *, name: str = "BadRequestError", status: int = 400, **extra: Any
) -> JSONResponse:
    """Auth0's /dbconnections error shape: name, code, description (a string or, for passwords, the rules)."""
    body = {"name": name, "code": code, "description": description, **extra, "statusCode": status}
    return JSONResponse(body, status_code=status)
