"""OpenID Connect Back-Channel Logout 1.0, the provider's side: remember which apps hold each SSO session
(`sid`), and when that session ends, POST each of them a signed logout token.

Who holds a sid: every (client, app origin) that redeemed an authorization code for it at /oauth/token
with its client authentication, after a login or a silent `/authorize`. A code merely issued proves
nothing: any page can make a browser ask /authorize for a code sent to a port of its choosing, and were
that enough, a page could fill the list and push the real apps out of it. One dev client serves every
step, each on its own localhost port, so the client alone says too little: the origin comes from the
redirect_uri the code went to (http://localhost:3001/callback → http://localhost:3001), and the dev
client's back-channel URL is that origin's /backchannel-logout. The list is bounded (MAX_HOLDERS); when
it is full, the next app's code is refused rather than the app forgotten, so every app that got tokens
for a session is told when it ends.

Password-grant logins (step 02) are not remembered: they start no SSO session (their sid is fresh and
names nothing a logout could end), and they have no redirect origin to send a token to.

A session ends by a logout (/v2/logout, /oidc/logout) or by its expiry, which the tenant notices when the
session is next used or by its periodic sweep (tenant.py); either way each holder is told once.

Only loopback URLs are ever POSTed to: the tenant serves one developer's machine, and a logout must not
make it call anywhere else. A logout sends before it answers the browser, so that the app the browser
goes back to has already ended its session; it waits for the apps' first answers only a short while in
all, so a slow or dead app cannot hold a logout up. An app that answered 5xx or not at all (restarting,
say) gets the same token again a few times, with growing pauses, while the token is still young enough
to be accepted; a 4xx is the app's final word.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx2

from .clients import Client
from .flow_log import log_delivery, log_not_configured
from .hosts import is_loopback_host
from .models import ExpiringStore, SsoSession

if TYPE_CHECKING:
    from .server import DevTenant

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120  # seconds; the spec recommends a short life (its examples use two minutes)
TIMEOUT = 2.0  # seconds per POST; a local app answers in milliseconds
FIRST_ANSWERS_BUDGET = 2.0  # seconds a logout waits, for all apps together, before answering the browser
# Pauses before each retry of a 5xx or no answer; retries stop earlier once RETRY_WINDOW seconds of the
# token's life are used (the apps take tokens up to LOGOUT_TOKEN_TTL old, with a minute's leeway).
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
RETRY_WINDOW = 60
HOLDERS_GRACE = 24 * 60 * 60  # seconds who-holds-a-sid outlives the session: its expiry may be seen late
NOT_LOOPBACK = "not sent: only loopback URLs are trusted"
MAX_HOLDERS = 32  # apps per SSO session: one developer's steps, each on a port, with room to spare


@dataclass(slots=True)
class Holders:
    """The apps holding one SSO session: (client_id, origin) pairs; kept HOLDERS_GRACE past the session."""

    expires: float
    apps: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class SentLogoutToken:
    """One logout token the tenant sent, or tried to (tests only: DevTenant.sent_logout_tokens)."""

    client_id: str
    url: str
    sid: str
    logout_token: str
    status_code: int | None  # the app's answer; None when there was none (refused, timed out, not sent)
    error: str | None = None
    attempt: int = 1  # 2 and on: the same token (same jti) sent again after a 5xx or no answer

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

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant
        # Tests may shorten these three.
        self.timeout = TIMEOUT  # per POST
        self.budget = FIRST_ANSWERS_BUDGET  # what a logout waits, in all, for the apps' first answers
        self.retry_delays = RETRY_DELAYS
        self._holders: ExpiringStore[Holders] = ExpiringStore(tenant.now)
        self._lock = threading.Lock()
        # Deliveries still retrying after the logout has answered: kept so that they are not collected
        # mid-flight, and cancelled when the tenant stops (close).
        self._running: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None  # the serving loop, for expiries seen off it

    def remember(self, session: SsoSession, client_id: str, redirect_uri: str) -> bool:
        """The app behind `redirect_uri` redeemed a code for `session`: it now holds the sid. False when
        the list is full and the app is not on it (its code must be refused: it would never be told)."""
        client = self.tenant.clients.get(client_id)
        origin = origin_of(redirect_uri)
        if client is None or client.backchannel_logout_uri is None or origin is None:
            return True  # nothing to tell it, so nothing to remember
        with self._lock:
            record = self._holders.get(session.sid)
            if record is None:
                # Kept past the session's end, so that its expiry, noticed later, still finds whom to tell.
                record = Holders(expires=session.expires + HOLDERS_GRACE)
                self._holders.put(session.sid, record)
            if (client_id, origin) not in record.apps and len(record.apps) >= MAX_HOLDERS:
                return False
            record.apps.add((client_id, origin))
            return True

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

    async def session_ended(self, session: SsoSession) -> list[SentLogoutToken]:
        """Tell the apps holding `session` it ended: their first answers, as far as they came within the
        budget; retries go on after this returns."""
        return await self.notify(session, self.take(session.sid), wait=self.budget)

    async def session_ended_now(self, session: SsoSession) -> list[SentLogoutToken]:
        """As session_ended, waiting for every app's first answer however long it takes (each POST is
        bounded by `timeout`)."""
        return await self.notify(session, self.take(session.sid), wait=None)

    def session_expired(self, session: SsoSession) -> None:
        """An SSO session was found expired: tell its holders, without making the finder wait."""
        apps = self.take(session.sid)
        if not apps:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # noticed off the serving loop (in a thread): hand it over
            if self.loop is None or self.loop.is_closed():
                log.warning("Back-channel logout for an expired session: the tenant is not serving; not sent")
                return
            self.loop.call_soon_threadsafe(lambda: self._start(self.notify(session, apps)))
            return
        self._start(self.notify(session, apps))

    def _start(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def close(self) -> None:
        """Stop the deliveries still retrying on this loop (the tenant is stopping)."""
        loop = asyncio.get_running_loop()
        mine = [task for task in self._running if task.get_loop() is loop]
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)

    async def notify(
        self, session: SsoSession, apps: Iterable[tuple[str, str]], wait: float | None = None
    ) -> list[SentLogoutToken]:
        """POST a logout token to each app's back-channel URL, all at once, and return the first answers
        that came within `wait` seconds (None: all of them); never raises."""
        targets: dict[tuple[str, str], Client] = {}
        for client_id, origin in apps:
            client = self.tenant.clients.get(client_id)
            url = client.backchannel_target(origin) if client is not None else None
            if client is not None and url:
                targets[(client_id, url)] = client
            elif client is not None:  # e.g. its URI removed on the dashboard: the app is not told, and the log says so
                log_not_configured(self.tenant, client_id, origin, session.user.user_id)
        if not targets:
            return []
        loop = asyncio.get_running_loop()
        # trust_env=False: a proxy from the environment must not see (or swallow) a loopback POST.
        http = httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)
        firsts: list[asyncio.Future[SentLogoutToken]] = []
        deliveries: list[asyncio.Task[None]] = []
        for (_, url), client in targets.items():
            first: asyncio.Future[SentLogoutToken] = loop.create_future()
            firsts.append(first)
            deliveries.append(loop.create_task(self._deliver(http, client, url, session, first)))
        self._start(self._close_when_done(http, deliveries))
        for task in deliveries:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        await asyncio.wait(firsts, timeout=wait)
        return [first.result() for first in firsts if first.done()]

    @staticmethod
    async def _close_when_done(http: httpx2.AsyncClient, deliveries: list[asyncio.Task[None]]) -> None:
        try:
            await asyncio.gather(*deliveries, return_exceptions=True)
        finally:
            await http.aclose()

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

    async def _deliver(
        self,
        http: httpx2.AsyncClient,
        client: Client,
        url: str,
        session: SsoSession,
        first: asyncio.Future[SentLogoutToken],
    ) -> None:
        """Sign one token and POST it until the app gives a final answer or the token is too old to try."""
        token = ""
        try:
            claims = self.claims(client, session)
            token = self.tenant._sign_logout_token(client, claims)
            if not is_loopback(url):
                log.warning("Back-channel logout for %s: %s is not a loopback URL; not sent", client.client_id, url)
                self._record(first, SentLogoutToken(client.client_id, url, session.sid, token, None, NOT_LOOPBACK))
                return
            for attempt, delay in enumerate((*self.retry_delays, None), start=1):
                sent = await self._post(http, client, url, session, token, attempt)
                self._record(first, sent)
                final = sent.status_code is not None and sent.status_code < 500
                # The same token each time (one jti): the app accepts a token up to two minutes old, so the
                # last try must start well before that, leaving room for clocks that differ.
                last_start = claims["iat"] + RETRY_WINDOW - self.timeout
                if final or delay is None or self.tenant.now() + delay > last_start:
                    return
                await asyncio.sleep(delay)
                if self.tenant.now() > last_start:  # the pause took longer than planned (a suspended laptop)
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a logout must end cleanly whatever happens here
            log.warning("Back-channel logout to %s failed (%s)", url, type(exc).__name__, exc_info=True)
            self._record(first, SentLogoutToken(client.client_id, url, session.sid, token, None, type(exc).__name__))
        finally:
            if not first.done():  # cancelled before any answer: the logout must not wait on it
                first.set_result(SentLogoutToken(client.client_id, url, session.sid, token, None, "not sent"))

    def _record(self, first: asyncio.Future[SentLogoutToken], sent: SentLogoutToken) -> None:
        log_delivery(self.tenant, sent)
        if not first.done():
            first.set_result(sent)
        if self.tenant.sent_logout_tokens is not None:
            self.tenant.sent_logout_tokens.append(sent)

    async def _post(
        self, http: httpx2.AsyncClient, client: Client, url: str, session: SsoSession, token: str, attempt: int
    ) -> SentLogoutToken:
        status: int | None = None
        error: str | None = None
        try:
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
        return SentLogoutToken(client.client_id, url, session.sid, token, status, error, attempt)
