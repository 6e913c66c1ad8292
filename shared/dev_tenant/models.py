"""The tenant's records: users, login transactions, SSO sessions, authorization codes, access tokens.

Everything but users lives in memory only: a restart logs everyone out of the tenant, which is what a
developer restarting it expects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

CODE_TTL = 300  # seconds; Auth0's codes are short-lived too, and single use
ACCESS_TOKEN_TTL = 24 * 60 * 60
ID_TOKEN_TTL = 10 * 60 * 60  # Auth0's default id_token lifetime
TRANSACTION_TTL = 30 * 60  # time to fill in the hosted login page
SSO_TTL = 3 * 24 * 60 * 60

# Claims that the `profile` scope releases, in Auth0's order.
PROFILE_CLAIMS = ("name", "nickname", "picture", "updated_at", "given_name", "family_name")


@dataclass(frozen=True, slots=True)
class User:
    """A user's profile as Auth0 shows it; the password hash and lock-out count stay in users.py."""

    user_id: str  # "auth0|…" or "google-oauth2|…"
    connection: str
    email: str
    name: str
    nickname: str
    picture: str
    updated_at: str
    email_verified: bool = False
    given_name: str | None = None
    family_name: str | None = None
    username: str | None = None

    def claims(self, scope: str) -> dict[str, Any]:
        """The claims this user's id_token and /userinfo carry for `scope`."""
        scopes = set(scope.split())
        claims: dict[str, Any] = {}
        if "profile" in scopes:
            for name in PROFILE_CLAIMS:
                value = getattr(self, name)
                if value is not None:
                    claims[name] = value
        if "email" in scopes:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
        claims["sub"] = self.user_id
        return claims


@dataclass(slots=True)
class Transaction:
    """A login in progress on the hosted pages: what /authorize asked for, until the user is known."""

    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    scope: str
    code_challenge: str | None
    connection: str
    csrf: str
    expires: float
    browser: str = ""  # the browser cookie that started it: a form posted from elsewhere is refused


@dataclass(frozen=True, slots=True)
class SsoSession:
    """The tenant's own session (its cookie): a second /authorize skips the login page."""

    sid: str
    user: User
    auth_time: int
    expires: float


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """What a code stands for, bound to the client, the redirect_uri and the PKCE challenge."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    nonce: str | None
    scope: str
    user: User
    sid: str
    auth_time: int
    expires: float


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An opaque access token, good for /userinfo."""

    user: User
    scope: str
    client_id: str
    expires: float


class Expiring(Protocol):
    @property
    def expires(self) -> float: ...


R = TypeVar("R", bound=Expiring)


class ExpiringStore(Generic[R]):
    """Records by random key, in memory. Expired records read as absent; they are swept once the store
    grows past `sweep_above`, so abandoned logins cannot grow memory forever."""

    def __init__(self, now: Callable[[], float], sweep_above: int = 1000) -> None:
        self._now = now
        self._sweep_above = sweep_above
        self._records: dict[str, R] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def put(self, key: str, record: R) -> None:
        with self._lock:
            if len(self._records) > self._sweep_above:
                now = self._now()
                for stale in [k for k, v in self._records.items() if v.expires < now]:
                    del self._records[stale]
            self._records[key] = record

    def get(self, key: str) -> R | None:
        with self._lock:
            record = self._records.get(key)
            if record is not None and record.expires < self._now():
                del self._records[key]
                return None
            return record

    def pop(self, key: str) -> R | None:
        """Take the record out (single use: a second pop of the same key finds nothing)."""
        with self._lock:
            record = self._records.pop(key, None)
        return record if record is not None and record.expires >= self._now() else None
