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
# Anyone can start a login (GET /authorize), so their number is capped; at ~5 KB each (state, nonce and
# scope are capped too) 2,000 live logins cost ~10 MB, far more than a workshop ever has open.
MAX_TRANSACTIONS = 2000
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
    """An opaque access token, good for /userinfo while its SSO session lasts (`sid`; None for a password
    grant's token, which no SSO session stands behind)."""

    user: User
    scope: str
    client_id: str
    expires: float
    sid: str | None = None


class Expiring(Protocol):
    @property
    def expires(self) -> float: ...


R = TypeVar("R", bound=Expiring)


class ExpiringStore(Generic[R]):
    """Records by random key, in memory, at most `max_records` of them. Expired records read as absent.

    Each store gives its records one lifetime, so insertion order is expiry order: a put drops the
    expired records at the front, and when the store is full of live ones, the oldest. A flood of
    abandoned logins costs the oldest logins, never the tenant's memory.

    `on_expire(key, record)` hears of every record that ends without being popped: found expired, swept
    (`sweep`), or pushed out by a full store. It runs outside the store's lock, once per record."""

    def __init__(
        self,
        now: Callable[[], float],
        max_records: int = 10_000,
        on_expire: Callable[[str, R], None] | None = None,
    ) -> None:
        self._now = now
        self._max_records = max_records
        self._on_expire = on_expire
        self._records: dict[str, R] = {}  # insertion order: the first key is the oldest record
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def _ended(self, ended: list[tuple[str, R]]) -> None:
        if self._on_expire is not None:
            for key, record in ended:
                self._on_expire(key, record)

    def put(self, key: str, record: R) -> None:
        ended: list[tuple[str, R]] = []
        with self._lock:
            now = self._now()
            while self._records:
                oldest = next(iter(self._records))
                if self._records[oldest].expires >= now and len(self._records) < self._max_records:
                    break
                ended.append((oldest, self._records.pop(oldest)))
            self._records.pop(key, None)
            self._records[key] = record
        self._ended(ended)

    def get(self, key: str) -> R | None:
        with self._lock:
            record = self._records.get(key)
            if record is None or record.expires >= self._now():
                return record
            del self._records[key]
        self._ended([(key, record)])
        return None

    def pop(self, key: str) -> R | None:
        """Take the record out (single use: a second pop of the same key finds nothing)."""
        with self._lock:
            record = self._records.pop(key, None)
        if record is None or record.expires >= self._now():
            return record
        self._ended([(key, record)])
        return None

    def sweep(self) -> int:
        """Drop every expired record now (not only the oldest ones); return how many went."""
        with self._lock:
            now = self._now()
            ended = [(key, record) for key, record in self._records.items() if record.expires < now]
            for key, _ in ended:
                del self._records[key]
        self._ended(ended)
        return len(ended)
