"""The dev tenant: a local, Auth0-compatible OpenID Connect provider on Starlette.

`DevTenant` is the façade: it owns the state (clients, users, keys, in-memory records, faults) and
assembles the endpoint families, one module each:

    discovery.py        /.well-known/openid-configuration, /.well-known/jwks.json, avatars, /
    authorize.py        /authorize and the tenant's SSO session
    hosted_pages.py     /u/login, /u/signup, /u/google, /u/cancel (templates/)
    token_endpoint.py   /oauth/token: authenticate_client.py, then grants/
    userinfo_signup.py  /userinfo, /dbconnections/signup
    logout.py           /v2/logout, /oidc/logout
    backchannel.py      who holds each SSO session; Back-Channel Logout tokens when it ends
    dashboard.py        /dashboard: the dev client's settings (settings.py) and the logs (logs.py)
    faults.py           deliberate misbehaviour and /test/… (testing=True only)

and, in front of all of them, security_headers.py (the headers on every answer) and state_guard.py (a
clear answer when the state folder is deleted under the running tenant).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from .authorize import Authorize
from .backchannel import BackchannelLogout, SentLogoutToken
from .clients import DEFAULT_GRANTS, PASSWORD_REALM_GRANT, Client, Clients
from .dashboard import Dashboard
from .defaults import (
    DATABASE_CONNECTION,
    DEFAULT_PORT,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    default_state_dir,
    dev_client_secret,
)
from .discovery import Discovery
from .faults import BrokenAnswers, Faults, FaultsApi
from .grants.authorization_code import exchange_code
from .hosted_pages import HostedPages
from .hosts import only_own_hosts
from .keys import KeyStore
from .logout import Logout
from .logs import TenantLog
from .models import MAX_TRANSACTIONS, AccessToken, AuthorizationCode, ExpiringStore, SsoSession, Transaction, User
from .params import Params, normalise_email
from .security_headers import SecurityHeaders
from .settings import SettingsStore
from .signing import sign_id_token, sign_logout_token
from .state_guard import StateGuard
from .templating import EXCEPTION_HANDLERS
from .token_endpoint import TokenEndpoint
from .userinfo_signup import UserinfoAndSignup
from .users import UserExists, UserStore

AUTH0_ONLY_PATHS = {"/v2/logout", "/dbconnections/signup"}
SWEEP_EVERY = 60.0  # seconds between looks for expired SSO sessions; the apps hear of an expiry this late

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_GRANTS", "PASSWORD_REALM_GRANT", "Client", "DevTenant", "Faults", "SentLogoutToken"]


class DevTenant:
    """One tenant: its clients, users, keys, sessions and the ASGI app serving them."""

    def __init__(
        self,
        issuer: str = f"http://localhost:{DEFAULT_PORT}/",
        state_dir: Path | None = None,
        *,
        testing: bool = False,
        advertise_end_session: bool = True,
        generic: bool = False,
        sweep_every: float = SWEEP_EVERY,
        any_app_port: bool = False,
    ) -> None:
        # sweep_every: seconds between the running tenant's looks for expired SSO sessions, whose apps then
        # get logout tokens (tests make it small and move `clock` on instead of waiting days).
        # generic=True: a provider that is not Auth0, as most certified ones look — the issuer exactly as
        # given (no trailing slash, a path: Keycloak's /realms/NAME), discovery under that path, no
        # /v2/logout, no password grants, no /dbconnections/signup, and id_tokens carrying only `sub`
        # (the profile is in /userinfo). The endpoints stay at the host's root: the document names them.
        # any_app_port=True: the dev client's loopback URLs match on any port (clients.py), for tests and
        # graders that serve apps on free ports; a learner's tenant enforces the dashboard's URLs exactly.
        self.generic = generic
        if generic:
            self.issuer = issuer
            parts = urlsplit(issuer)
            self.base_url = f"{parts.scheme}://{parts.netloc}/"
        else:
            # Auth0's issuer always ends with a slash, and apps compare it byte for byte.
            self.issuer = issuer if issuer.endswith("/") else issuer + "/"
            self.base_url = self.issuer
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.testing = testing
        self.advertise_end_session = advertise_end_session
        self.faults: Faults | None = Faults() if testing else None
        # Every Back-Channel Logout token sent (or tried), for tests to read; None outside tests.
        self.sent_logout_tokens: list[SentLogoutToken] | None = [] if testing else None
        self.keys = KeyStore(self.state_dir)
        self.users = UserStore(self.state_dir, self.base_url)
        self.clock: Callable[[], float] = time.time  # tests may replace it to move time forward
        self.settings = SettingsStore(self.state_dir)
        secret = dev_client_secret(self.state_dir)
        self.clients = Clients(self.settings, lambda: secret, any_port=any_app_port)
        self.logs = TenantLog(self.state_dir, urlsplit(self.base_url).netloc, self.now, self._client_name)
        # Login transactions, SSO sessions, codes and access tokens live in memory only.
        self.transactions: ExpiringStore[Transaction] = ExpiringStore(self.now, MAX_TRANSACTIONS)
        # An SSO session that expires is ended like a logged-out one: its holders get logout tokens.
        self.sessions: ExpiringStore[SsoSession] = ExpiringStore(self.now, on_expire=self._session_expired)
        self.sweep_every = sweep_every
        self.codes: ExpiringStore[AuthorizationCode] = ExpiringStore(self.now)
        self.access_tokens: ExpiringStore[AccessToken] = ExpiringStore(self.now)
        self.backchannel = BackchannelLogout(self)

        if self.users.get(DATABASE_CONNECTION, DEMO_EMAIL) is None:
            try:
                self.create_user(DEMO_EMAIL, DEMO_PASSWORD, nickname="demo", name="Demo User")
            except UserExists:  # another process seeded it meanwhile
                pass

        self.authorize = Authorize(self)
        routes: list[Route] = [
            *Discovery(self).routes(),
            *self.authorize.routes(),
            *HostedPages(self).routes(),
            *TokenEndpoint(self).routes(),
            *UserinfoAndSignup(self).routes(),
            *Logout(self).routes(),
            *Dashboard(self).routes(),
        ]
        if generic:  # Auth0's own endpoints: a generic provider has none of them
            routes = [route for route in routes if route.path not in AUTH0_ONLY_PATHS]
        if self.faults is not None:
            routes += FaultsApi(self.faults, self.rotate_key, self.sent_logout_tokens).routes()
        # Outermost: the headers go on every answer, the Host check's refusals included.
        middleware = [
            Middleware(SecurityHeaders),
            only_own_hosts(self.issuer),
            Middleware(StateGuard, state_dir=self.state_dir, database=self.users.path),
        ]
        if self.faults is not None:  # tests only: canned broken answers in front of every endpoint (faults.py)
            middleware.append(Middleware(BrokenAnswers, faults=self.faults))
        self.app = Starlette(
            routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=self._lifespan
        )

    def now(self) -> float:
        return self.clock()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """While the tenant serves: sweep expired SSO sessions every `sweep_every` seconds, so that their
        apps hear of the expiry even when no browser comes back; on stop, end the deliveries still retrying."""
        self.backchannel.loop = asyncio.get_running_loop()
        sweeper = asyncio.create_task(self._sweep_forever())
        try:
            yield
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            await self.backchannel.close()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                self.sessions.sweep()
            except Exception:  # a failed sweep must not end the sweeping
                log.warning("Sweeping expired SSO sessions failed", exc_info=True)

    def _session_expired(self, sid: str, session: SsoSession) -> None:
        self.backchannel.session_expired(session)

    def _client_name(self, client_id: str) -> str:
        client = self.clients.get(client_id)
        return client.name if client is not None else ""

    @property
    def dashboard_url(self) -> str:
        return f"{self.base_url}dashboard"

    def session_alive(self, sid: str) -> bool:
        """Whether the SSO session `sid` still runs (not logged out of, not expired)."""
        return self.sessions.get(sid) is not None

    # ---- Python API -------------------------------------------------------------------------

    def register_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def create_user(self, email: str, password: str, **profile: Any) -> User:
        return self.users.create(DATABASE_CONNECTION, email, password, **profile)

    def unblock_user(self, email: str) -> None:
        self.users.unblock(DATABASE_CONNECTION, email)

    def unblock_command(self, email: str) -> str:
        """The command line that lifts `email`'s lock-out, as the lock-out message shows it."""
        words = ["uv", "run", "python", "-m", "shared.dev_tenant", "--unblock", normalise_email(email)]
        if self.state_dir.resolve() != default_state_dir().resolve():
            words += ["--state-dir", str(self.state_dir)]
        return shlex.join(words)

    def rotate_key(self) -> str:
        return self.keys.rotate()

    def retire_old_keys(self) -> None:
        self.keys.retire_old()

    async def end_sso_session(self, sid: str) -> list[SentLogoutToken]:
        """End an SSO session as a logout does, and send its Back-Channel Logout tokens now; return what
        was sent (nothing when the session is unknown or already over)."""
        session = self.sessions.pop(sid)
        if session is None:
            return []
        return await self.backchannel.session_ended_now(session)

    # ---- seams: the endpoints call these through the façade, so tests/security can wrap them ------

    def _sign_id_token(self, client: Client, claims: dict[str, Any]) -> str:
        return sign_id_token(self.keys, client, claims, self.faults)

    def _sign_logout_token(self, client: Client, claims: dict[str, Any]) -> str:
        return sign_logout_token(self.keys, client, claims, self.faults)

    def _code_grant(self, client: Client, body: Params) -> Response:
        return exchange_code(self, client, body)
