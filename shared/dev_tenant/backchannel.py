"""OpenID Connect Back-Channel Logout 1.0, the provider's side: remember which apps hold each SSO session
(`sid`), and when that session ends, POST each of them a signed logout token.

Who holds a sid: every (client, app origin) that was sent an authorization code for it, by a login or a
silent `/authorize`. One dev client serves every step, each on its own localhost port, so the client alone
says too little: the origin comes from the redirect_uri the code went to (http://localhost:3001/callback
→ http://localhost:3001), and the dev client's back-channel URL is that origin's /backchannel-logout.

Password-grant logins (step 02) are not remembered: they start no SSO session (their sid is fresh and
names nothing a logout could end), and they have no redirect origin to send a token to.

Only loopback URLs are ever POSTed to: the tenant serves one developer's machine, and a logout must not
make it call anywhere else. Sending happens after the browser has its answer, all apps at once, each
with a short timeout: a slow or dead app never holds up or breaks a logout.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx2
from starlette.background import BackgroundTask

from .clients import Client
from .hosts import is_loopback_host
from .models import ExpiringStore, SsoSession

if TYPE_CHECKING:
    from .tenant import Tenant

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120  # seconds; the spec recommends a short life (its examples use two minutes)
TIMEOUT = 2.0  # seconds per app; a local app answers in milliseconds
MAX_HOLDERS = 32  # apps per SSO session: one developer's steps, each on a port, with room to spare


@dataclass(slots=True)
class Holders:
    """The apps holding one SSO session: (client_id, origin) pairs; kept no longer than the session."""

    expires: float
    apps: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class SentLogoutToken:
    """One logout token the tenant sent, or tried to (tests only: Tenant.sent_logout_tokens)."""

    client_id: str
    url: str
    sid: str
    logout_token: str
    status_code: int | None  # the app's answer; None when there was none (refused, timed out, not sent)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of an http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    """Whether `url` is http(s) on this machine: localhost, 127.0.0.0/8 or ::1, and nothing else."""
    return origin_of(url) is not None and is_loopback_host(urlsplit(url).hostname or "")


class BackchannelLogout:
    """Remembers who holds each sid (`remember`), and tells them when it ends (`session_ended`)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.timeout = TIMEOUT  # tests may shorten it
        self._holders: ExpiringStore[Holders] = ExpiringStore(tenant.now)
        self._lock = threading.Lock()

    def remember(self, session: SsoSession, client_id: str, redirect_uri: str) -> None:
        """An authorization code for `session` went to `redirect_uri`: that app now holds the sid."""
        client = self.tenant.clients.get(client_id)
        origin = origin_of(redirect_uri)
        if client is None or client.backchannel_logout_uri is None or origin is None:
            return
        with self._lock:
            record = self._holders.get(session.sid)
            if record is None:
                record = Holders(expires=session.expires)
                self._holders.put(session.sid, record)
            if len(record.apps) < MAX_HOLDERS:
                record.apps.add((client_id, origin))

    def holders(self, sid: str) -> list[tuple[str, str]]:
        """The (client_id, origin) pairs holding `sid`, sorted."""
        with self._lock:
            record = self._holders.get(sid)
            return sorted(record.apps) if record is not None else []

    def take(self, sid: str) -> list[tuple[str, str]]:
        """Forget and return who holds `sid` (each is told once, however many logouts follow)."""
        with self._lock:
            record = self._holders.pop(sid)
        return sorted(record.apps) if record is not None else []

    def session_ended(self, session: SsoSession) -> BackgroundTask | None:
        """The task that tells the apps holding `session` it ended: run it after the response is sent."""
        apps = self.take(session.sid)
        return BackgroundTask(self.notify, session, apps) if apps else None

    async def notify(self, session: SsoSession, apps: Iterable[tuple[str, str]]) -> list[SentLogoutToken]:
        """POST a logout token to each app's back-channel URL, all at once; never raises."""
        targets: dict[tuple[str, str], Client] = {}
        for client_id, origin in apps:
            client = self.tenant.clients.get(client_id)
            url = client.backchannel_target(origin) if client is not None else None
            if client is not None and url:
                targets[(client_id, url)] = client
        if not targets:
            return []
        # trust_env=False: a proxy from the environment must not see (or swallow) a loopback POST.
        async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False) as http:
            return list(
                await asyncio.gather(*(self._send(http, client, url, session) for (_, url), client in targets.items()))
            )

    def claims(self, client: Client, session: SsoSession) -> dict[str, Any]:
        """Back-Channel Logout 1.0 §2.4: iss, aud, iat, exp, jti, events, sub and sid; never a nonce."""
        now = int(self.tenant.now())
        return {
            "iss": self.tenant.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": secrets.token_urlsafe(16),
            "sub": session.user.user_id,
            "sid": session.sid,
            "events": {EVENT: {}},
        }

    async def _send(self, http: httpx2.AsyncClient, client: Client, url: str, session: SsoSession) -> SentLogoutToken:
        token = ""
        status: int | None = None
        error: str | None = None
        try:
            token = self.tenant._sign_logout_token(client, self.claims(client, session))
            if not is_loopback(url):
                error = "not sent: only loopback URLs are trusted"
                log.warning("Back-channel logout for %s: %s is not a loopback URL; not sent", client.client_id, url)
            else:
                # Back-Channel Logout 1.0 §2.5: a form POST with the one parameter; the app answers 200 or 400.
                response = await http.post(url, data={"logout_token": token})
                status = response.status_code
                if status == 200:
                    log.info("Back-channel logout: %s answered 200", url)
                else:
                    error = f"answered {status}"
                    log.warning("Back-channel logout: %s answered %s", url, status)
        except httpx2.TimeoutException:
            error = f"no answer within {self.timeout:g} s"
            log.warning("Back-channel logout: %s gave %s", url, error)
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}"
            log.warning("Back-channel logout: %s could not be reached (%s)", url, error)
        except Exception as exc:  # a logout must end cleanly whatever happens here
            error = f"{type(exc).__name__}"
            log.warning("Back-channel logout to %s failed (%s)", url, error, exc_info=True)
        sent = SentLogoutToken(client.client_id, url, session.sid, token, status, error)
        if self.tenant.sent_logout_tokens is not None:
            self.tenant.sent_logout_tokens.append(sent)
        return sent
