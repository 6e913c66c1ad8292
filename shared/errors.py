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


class ProviderError(LoginError):
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


class SessionTooLarge(Exception):
    """The id_token would not fit in a cookie; the browser would silently drop it."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The session would need a {size}-byte cookie; browsers drop cookies over {limit} bytes. "
            "Remove custom claims added to the id_token (Auth0 Actions) to make it smaller."
        )
        self.size = size
