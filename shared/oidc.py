"""The OpenID Connect client every step uses: Authlib for the redirect flow, our verifier for tokens."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from starlette.requests import Request
from starlette.responses import RedirectResponse

from shared.config import Settings, is_loopback
from shared.tokens import Claims, IdTokenVerifier, TokenError

SCOPE = "openid profile email"
PENDING_LOGIN = "login"  # the session key holding the state, nonce and PKCE verifier of a login in progress


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
        )
        self.app: StarletteOAuth2App = oauth.create_client("auth0")
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
        document: dict[str, Any] = metadata
        return document

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
        return self._verifier

    async def verify(self, id_token: str, *, nonce: str | None = None, from_tenant: bool = False) -> Claims:
        """Verify an id_token (raises TokenError); the tenant being down raises TenantUnavailable.

        `from_tenant`: the token is the tenant's answer to a login, not read back from a cookie.
        """
        verifier = await self.verifier()
        try:
            return await verifier.verify(id_token, nonce=nonce, from_tenant=from_tenant)
        except TokenError as error:
            if isinstance(error.__cause__, httpx2.HTTPError):
                raise TenantUnavailable(self.settings.issuer) from error
            raise

    async def verify_logout_token(self, logout_token: str) -> Claims:
        """Verify a Back-Channel Logout token (raises TokenError); the tenant down raises TenantUnavailable."""
        verifier = await self.verifier()
        try:
            return await verifier.verify_logout_token(logout_token)
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
        """Redirect to the tenant's /authorize with state, nonce and a PKCE S256 challenge (Authlib makes them).

        The three values wait in the step's signed session cookie until /callback: one login at a
        time per browser, and each can finish only once.
        """
        await self.verifier()
        try:
            login = await self.app.create_authorization_url(self.settings.redirect_uri, **params)
        except httpx2.HTTPError as error:
            raise TenantUnavailable(self.settings.issuer) from error
        request.session[PENDING_LOGIN] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
        return RedirectResponse(login["url"], status_code=302)

    async def finish_login(self, request: Request) -> tuple[str, Claims]:
        """Handle /callback: check state, exchange the code, verify the id_token."""
        await self.verifier()
        login = request.session.pop(PENDING_LOGIN, None)
        state = request.query_params.get("state", "")
        # The state is checked before anything else in the URL is read: otherwise any link to
        # /callback?error=…&error_description=<text> would put a stranger's words on this app's page.
        if not isinstance(login, dict) or not hmac.compare_digest(state.encode(), str(login.get("state")).encode()):
            raise LoginError(
                "There is no login in progress in this browser, or this link was already used. "
                "Start again from the Log In button.",
                title="No login in progress",
            )
        if refused := request.query_params.get("error"):
            description = request.query_params.get("error_description")
            if refused == "access_denied":
                raise LoginError(description or "The login was cancelled.", status=403, title="Login cancelled")
            raise LoginError(f"The tenant refused the login: {description or refused}.")
        code = request.query_params.get("code")
        if not code:
            raise LoginError("The tenant sent no authorization code.")
        try:
            token = await self.app.fetch_access_token(
                redirect_uri=self.settings.redirect_uri, code=code, code_verifier=login["code_verifier"]
            )
        except OAuthError as error:
            # `access_denied` or `invalid_client` from the token endpoint (not from the browser) means
            # the tenant refused this app's client credentials.
            if error.error in ("access_denied", "invalid_client", "unauthorized_client"):
                raise LoginError(
                    f"The tenant refused this application's credentials ({error.error}: {error.description}). "
                    "Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (uv run python -m shared.check tests them).",
                    status=502,
                    title="Tenant refused the application",
                ) from error
            raise LoginError(f"The tenant refused the login: {error.description or error.error}.") from error
        except AuthlibBaseError as error:
            raise LoginError(f"The tenant refused the login: {error.description or error.error}.") from error
        except httpx2.HTTPError as error:
            raise TenantUnavailable(self.settings.issuer) from error
        if not isinstance(token.get("id_token"), str):
            raise LoginError("The tenant sent no id_token.", status=401, title="Login refused")
        try:
            claims = await self.verify(token["id_token"], nonce=login["nonce"], from_tenant=True)
        except TokenError as error:
            raise LoginError(str(error), status=401, title="Login refused") from error
        return token["id_token"], claims

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
