"""What goes wrong on the way to a login, as exceptions the factory's handlers turn into pages (shared/pages.py)."""

from __future__ import annotations

from shared.config import plain_http_fix


class LoginError(Exception):
    """A login that cannot finish; shown to the user as an error page with a 4xx status."""

    def __init__(self, message: str, *, status: int = 400, title: str = "Login failed") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title


class NoLoginInProgress(LoginError):
    """A callback whose state is not this browser's login in progress: forged, replayed, or stale."""

    def __init__(self) -> None:
        super().__init__(
            "There is no login in progress in this browser, or this link was already used. "
            "Start again from the Log In button.",
            title="No login in progress",
        )


class TenantRefusedLogin(LoginError):
    """The tenant sent the browser back with OAuth's `error` (RFC 6749 §4.1.2.1), state matched."""

    def __init__(self, error: str, description: str | None) -> None:
        if error == "access_denied":  # the user cancelled on the tenant's page
            super().__init__(description or error, status=403, title="Login cancelled")
        else:
            super().__init__(f"The tenant refused the login: {description or error}.")


class TenantAnsweredWrongly(LoginError):
    """The provider answered, but not as the spec says (not JSON, a redirect, missing fields): a 502 page.

    The message names the provider and what it sent, trimmed (shared/upstream.py), never a token.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status=502, title="Identity provider answered wrongly")


class TenantUnavailable(Exception):
    """The tenant did not answer (503), or not in time (504); shown as a page naming its URL."""

    def __init__(
        self, issuer: str, *, timed_out: bool = False, unresolved: bool = False, plain_http: str | None = None
    ) -> None:
        if plain_http:
            # It did answer, in plain http: waiting will not help either (shared/config.py, plain_http_issuer).
            message = f"The identity provider at {issuer} answered, but {plain_http_fix(plain_http)}."
        elif unresolved:
            # A misspelt AUTH0_DOMAIN fails here, at the name lookup: waiting will not help.
            message = (
                f"The name of the identity provider at {issuer} does not resolve: check AUTH0_DOMAIN "
                "(uv run python -m shared.doctor tests it)."
            )
        else:
            message = f"The identity provider at {issuer} did not answer{' in time' if timed_out else ''}."
        super().__init__(message)
        self.issuer = issuer
        self.unresolved = unresolved
        self.plain_http = plain_http
        self.status = 504 if timed_out else 503


class CookieTooLarge(Exception):
    """A cookie too large for a browser, which would silently drop it (shared/cookies.py)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The session would need a {size}-byte cookie; browsers drop cookies over {limit} bytes. "
            "Remove custom claims added to the id_token (Auth0 Actions) to make it smaller."
        )
        self.size = size
