"""The OpenID Connect client every step uses: Authlib for the redirect flow, our verifier for tokens."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from starlette.requests import Request
from starlette.responses import RedirectResponse

from shared.config import Settings, is_loopback
from shared.tokens import Claims, IdTokenVerifier, TokenError

SCOPE = "openid profile email"


class LoginError(Exception):
    """A login that cannot finish; shown to the user as an error page with a 4xx status."""

    def __init__(self, message: str, *, status: int = 400, title: str = "Login failed") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title


class TenantUnavailable(Exception):
    """The tenant did not answer; shown as a 503 page naming its URL."""

    def __init__(self, issuer: str) -> None:
        super().__init__(f"The identity provider at {issuer} did not answer.")
        self.issuer = issuer


class _ReusableClient(AsyncOAuth2Client):
    """Authlib's HTTP client for the tenant, kept open across the `async with` Authlib wraps each call in."""

    async def __aenter__(self) -> _ReusableClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """The app's lifespan closes the shared transport at shutdown."""


class _VerifyingApp(StarletteOAuth2App):
    """Authlib's Starlette client, with id_token checks delegated to the project's one verifier.

    Authlib's own check does not compare `aud` with our client id unless told to, and re-fetches
    the JWKS for every unknown `kid`; IdTokenVerifier does both properly.

    Authlib also builds a new HTTP client for every /authorize URL and every code exchange (~0.5 ms
    each here); this app makes one and reuses it. Per-login values (state, nonce, code_verifier)
    are passed on each call, never kept on the client; redirect_uri is the same for every login.
    """

    client_cls = _ReusableClient
    verifier: IdTokenVerifier
    _client: _ReusableClient | None = None

    def _get_oauth_client(self, **metadata: Any) -> _ReusableClient:
        if self._client is None:
            self._client = super()._get_oauth_client(**metadata)
        return self._client

    async def parse_id_token(self, token: dict[str, Any], nonce: str, **_: Any) -> Claims:
        return await self.verifier.verify(token["id_token"], nonce=nonce)


class _SharedTransport(httpx2.AsyncBaseTransport):
    """The app's transport, lent to Authlib's per-call clients: closing one of them keeps the pool open."""

    def __init__(self, transport: httpx2.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        """The app's lifespan closes the real transport, once, at shutdown."""


class OidcClient:
    """Discovery, login redirect, callback and logout URL for one tenant."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient, transport: httpx2.AsyncBaseTransport) -> None:
        self.settings = settings
        self.http = http
        oauth = OAuth()
        oauth.register(
            "auth0",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=settings.discovery_url,
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": 10,
                # Authlib builds a short-lived HTTP client for each call; giving them the app's one
                # connection pool saves loading the CA store and a new connection per login.
                "transport": _SharedTransport(transport),
                # Proxy variables never apply to a loopback tenant; reading them costs each client ~0.3 ms.
                "trust_env": not is_loopback(urlsplit(settings.issuer).hostname or ""),
            },
            client_cls=_VerifyingApp,
        )
        self.app: _VerifyingApp = oauth.create_client("auth0")
        self._verifier: IdTokenVerifier | None = None
        self._setting_up = asyncio.Lock()

    async def metadata(self) -> dict[str, Any]:
        """The tenant's discovery document, fetched once per process."""
        try:
            metadata = await self.app.load_server_metadata()
        except (httpx2.HTTPError, ValueError) as error:
            self.app.server_metadata.clear()
            raise TenantUnavailable(self.settings.issuer) from error
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer we were configured with.
        if metadata.get("issuer") != self.settings.issuer:
            self.app.server_metadata.clear()
            raise LoginError(
                f"The tenant says its issuer is {metadata.get('issuer')!r}, not {self.settings.issuer!r}. "
                "Check AUTH0_DOMAIN.",
                status=502,
                title="Tenant misconfigured",
            )
        return metadata

    async def verifier(self) -> IdTokenVerifier:
        if self._verifier is None:
            async with self._setting_up:  # one verifier (and so one JWKS fetch) even when requests race the warm-up
                if self._verifier is None:
                    metadata = await self.metadata()
                    self._verifier = IdTokenVerifier(
                        self.settings.issuer,
                        self.settings.client_id,
                        metadata["jwks_uri"],
                        self.http,
                        leeway=self.settings.leeway,
                    )
                    self.app.verifier = self._verifier
        return self._verifier

    async def verify(self, id_token: str, *, nonce: str | None = None) -> Claims:
        """Verify an id_token (raises TokenError); the tenant being down raises TenantUnavailable."""
        verifier = await self.verifier()
        try:
            return await verifier.verify(id_token, nonce=nonce)
        except TokenError as error:
            if isinstance(error.__cause__, httpx2.HTTPError):
                raise TenantUnavailable(self.settings.issuer) from error
            raise

    async def warm_up(self) -> None:
        """Load discovery and the JWKS before the first visitor needs them."""
        verifier = await self.verifier()
        try:
            await verifier.load_keys()
        except TokenError as error:
            raise TenantUnavailable(self.settings.issuer) from error

    async def login_redirect(self, request: Request, **params: str) -> RedirectResponse:
        """Redirect to the tenant's /authorize with state, nonce and a PKCE S256 challenge."""
        await self.verifier()
        # The same random values Authlib would make, from one CSPRNG call each instead of one per character.
        secrets_ = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "code_verifier": secrets.token_urlsafe(48),
        }
        try:
            return await self.app.authorize_redirect(request, self.settings.redirect_uri, **secrets_, **params)
        except httpx2.HTTPError as error:
            raise TenantUnavailable(self.settings.issuer) from error

    async def finish_login(self, request: Request) -> tuple[str, Claims]:
        """Handle /callback: check state, exchange the code, verify the id_token."""
        await self.verifier()
        no_login = LoginError(
            "There is no login in progress in this browser, or this link was already used. "
            "Start again from the Log In button.",
            title="No login in progress",
        )
        # Authlib reads `error` before it checks `state`: without this, any link to
        # /callback?error=…&error_description=<text> would put a stranger's words on this app's page.
        state = request.query_params.get("state")
        if not state or f"_state_{self.app.name}_{state}" not in request.session:
            raise no_login
        try:
            token = await self.app.authorize_access_token(request)
        except MismatchingStateError as error:
            raise no_login from error
        except OAuthError as error:
            # Only an error in the callback URL itself comes from the user; the same `access_denied`
            # from the token endpoint means the tenant refused this app's client credentials.
            if error.error == "access_denied" and request.query_params.get("error") == "access_denied":
                raise LoginError(
                    error.description or "The login was cancelled.", status=403, title="Login cancelled"
                ) from error
            if error.error in ("access_denied", "invalid_client", "unauthorized_client"):
                raise LoginError(
                    f"The tenant refused this application's credentials ({error.error}: {error.description}). "
                    "Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (uv run python -m shared.check tests them).",
                    status=502,
                    title="Tenant refused the application",
                ) from error
            raise LoginError(f"The tenant refused the login: {error.description or error.error}.") from error
        except TokenError as error:
            raise LoginError(str(error), status=401, title="Login refused") from error
        except AuthlibBaseError as error:
            raise LoginError(f"The tenant refused the login: {error.description or error.error}.") from error
        except httpx2.HTTPError as error:
            raise TenantUnavailable(self.settings.issuer) from error
        if "userinfo" not in token:
            raise LoginError("The tenant sent no id_token.", status=401, title="Login refused")
        return token["id_token"], dict(token["userinfo"])

    async def logout_url(self, id_token: str | None, return_to: str) -> str:
        """Where to send the browser to end the tenant's session too, coming back to `return_to`."""
        metadata = await self.metadata()
        if end_session := metadata.get("end_session_endpoint"):
            params = {"post_logout_redirect_uri": return_to, "client_id": self.settings.client_id}
            if id_token:
                params["id_token_hint"] = id_token
            return f"{end_session}?{urlencode(params)}"
        # Tenants without RP-initiated logout enabled still offer Auth0's own endpoint.
        return f"{self.settings.issuer}v2/logout?{urlencode({'returnTo': return_to, 'client_id': self.settings.client_id})}"
