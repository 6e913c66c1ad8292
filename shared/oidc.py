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

from shared import profile
from shared.config import Settings, is_loopback
from shared.tokens import Claims, IdTokenVerifier, KeysUnavailable, TokenError
from shared.upstream import describe, shape, trim

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
    """The tenant did not answer (503), or not in time (504); shown as a page naming its URL."""

    def __init__(self, issuer: str, *, timed_out: bool = False) -> None:
        super().__init__(f"The identity provider at {issuer} did not answer{' in time' if timed_out else ''}.")
        self.issuer = issuer
        self.status = 504 if timed_out else 503


class ProviderError(LoginError):
    """The provider answered, but not as the spec says (not JSON, a redirect, missing fields): a 502 page.

    The message names the provider and what it sent, trimmed (shared/upstream.py), never a token.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, status=502, title="Identity provider answered wrongly")


class _SharedTransport(httpx2.AsyncBaseTransport):
    """The app's transport, lent to Authlib's per-call clients: closing one of them keeps the pool open."""

    def __init__(self, transport: httpx2.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        """The app's lifespan closes the real transport, once, at shutdown."""


REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL_ENDPOINTS = ("userinfo_endpoint", "end_session_endpoint")


class OidcClient:
    """Discovery, login redirect, callback and logout URL for one tenant (Auth0 or any OpenID Connect provider)."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient, transport: httpx2.AsyncBaseTransport) -> None:
        self.settings = settings
        self.http = http
        self._transport = _SharedTransport(transport)
        self._metadata: dict[str, Any] | None = None
        self._app: StarletteOAuth2App | None = None
        self._verifier: IdTokenVerifier | None = None
        self._discovering = asyncio.Lock()
        self._setting_up = asyncio.Lock()

    def _unavailable(self, error: httpx2.HTTPError) -> TenantUnavailable:
        return TenantUnavailable(self.settings.issuer, timed_out=isinstance(error, httpx2.TimeoutException))

    async def metadata(self) -> dict[str, Any]:
        """The tenant's discovery document, fetched and checked once per process (retried while it fails)."""
        if self._metadata is None:
            async with self._discovering:
                if self._metadata is None:
                    document = await self._discover()
                    self._app = self._register(document)
                    self._metadata = document
        return self._metadata

    async def _discover(self) -> dict[str, Any]:
        # Fetched here rather than by Authlib, so that every way a document can be wrong (HTML from a
        # proxy, a redirect, a JSON array, a missing endpoint) becomes a page naming the provider.
        url = self.settings.discovery_url
        try:
            response = await self.http.get(url, headers={"accept": "application/json"})
        except httpx2.HTTPError as error:
            raise self._unavailable(error) from error
        issuer = self.settings.issuer
        document = _json_object(response)
        if document is None:
            raise ProviderError(
                f"The identity provider at {issuer} sent no discovery document at {url}: it sent {describe(response)}."
            )
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer we were configured with.
        if document.get("issuer") != issuer:
            said = document.get("issuer")
            fix = (
                f" Set AUTH0_DOMAIN to {trim(repr(said))} exactly." if isinstance(said, str) else " Check AUTH0_DOMAIN."
            )
            raise LoginError(
                f"The tenant says its issuer is {trim(repr(said))}, not {issuer!r}: issuers are compared "
                f"byte for byte, trailing slash included.{fix}",
                status=502,
                title="Tenant misconfigured",
            )
        for name in (*REQUIRED_ENDPOINTS, *OPTIONAL_ENDPOINTS):
            value = document.get(name)
            if value is None and name in OPTIONAL_ENDPOINTS:
                continue
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise ProviderError(
                    f"The identity provider at {issuer} sent a discovery document whose {name} is "
                    f"{'missing' if value is None else 'not a URL'} ({describe(response)})."
                )
        return document

    def _register(self, document: dict[str, Any]) -> StarletteOAuth2App:
        """Authlib's client for the redirect flow, given the endpoints the checked document names."""
        oauth = OAuth()
        oauth.register(
            "provider",
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            authorize_url=document["authorization_endpoint"],
            access_token_url=document["token_endpoint"],
            # Authlib's public hook for providers that bend the spec: here it turns a token answer that
            # is not OAuth's JSON (a proxy's HTML page, a redirect) into a 502 page instead of a traceback.
            compliance_fix=lambda session: session.register_compliance_hook(
                "access_token_response", self._check_token_answer
            ),
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": self.settings.http_timeout,
                # Authlib builds a short-lived HTTP client for each call; giving them the app's one
                # connection pool saves loading the CA store and a new connection per login.
                "transport": self._transport,
                # Proxy variables never apply to a loopback tenant; reading them costs each client ~0.3 ms.
                "trust_env": not is_loopback(urlsplit(self.settings.issuer).hostname or ""),
            },
        )
        app: StarletteOAuth2App = oauth.create_client("provider")
        return app

    def _check_token_answer(self, response: httpx2.Response) -> httpx2.Response:
        """Let Authlib read a token answer only when it is OAuth's JSON: a 200 token, or a 4xx `error`."""
        body = _json_object(response)
        if body is not None and (
            response.status_code == 200 or (400 <= response.status_code < 500 and isinstance(body.get("error"), str))
        ):
            return response
        raise ProviderError(
            f"The identity provider at {self.settings.issuer} answered the code exchange at its token endpoint "
            f"with {describe(response)}."
        )

    async def _oauth_app(self) -> StarletteOAuth2App:
        await self.metadata()
        assert self._app is not None  # set together with the metadata
        return self._app

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
        """Verify an id_token (raises TokenError); the tenant down raises TenantUnavailable, a bad JWKS ProviderError.

        `from_tenant`: the token is the tenant's answer to a login, not read back from a cookie.
        """
        verifier = await self.verifier()
        try:
            return await verifier.verify(id_token, nonce=nonce, from_tenant=from_tenant)
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

    async def verify_logout_token(self, logout_token: str) -> Claims:
        """Verify a Back-Channel Logout token (raises TokenError), with the same errors as verify()."""
        verifier = await self.verifier()
        try:
            return await verifier.verify_logout_token(logout_token)
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

    def _keys_error(self, error: KeysUnavailable) -> Exception:
        if isinstance(error.__cause__, httpx2.HTTPError):
            return self._unavailable(error.__cause__)
        return ProviderError(f"The identity provider at {self.settings.issuer} has no usable signing keys. {error}")

    async def warm_up(self) -> None:
        """Load discovery and the JWKS before the first visitor needs them."""
        verifier = await self.verifier()
        try:
            await verifier.load_keys()
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

    async def login_redirect(self, request: Request, **params: str) -> RedirectResponse:
        """Redirect to the tenant's /authorize with state, nonce and a PKCE S256 challenge (Authlib makes them).

        The three values wait in the step's signed session cookie until /callback: one login at a
        time per browser, and each can finish only once.
        """
        await self.verifier()
        app = await self._oauth_app()
        login = await app.create_authorization_url(self.settings.redirect_uri, **params)
        request.session[PENDING_LOGIN] = {key: login[key] for key in ("state", "nonce", "code_verifier")}
        return RedirectResponse(login["url"], status_code=302)

    async def finish_login(self, request: Request) -> tuple[str, Claims]:
        """Handle /callback: check state, exchange the code, verify the id_token, fill in the profile if needed.

        The browser's session starts afresh here: nothing planted in it before the login survives.
        """
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
        app = await self._oauth_app()
        try:
            token = await app.fetch_access_token(
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
            raise self._unavailable(error) from error
        except (ValueError, TypeError, KeyError) as error:
            # A 200 JSON object Authlib cannot make a token of (e.g. `expires_in: "soon"`).
            raise ProviderError(
                f"The identity provider at {self.settings.issuer} answered the code exchange with a token "
                f"response that is not OAuth's ({type(error).__name__})."
            ) from error
        for name in ("id_token", "access_token"):
            if not isinstance(token.get(name), str) or not token[name]:
                raise ProviderError(
                    f"The identity provider at {self.settings.issuer} answered the code exchange without "
                    f"{'an' if name[0] in 'ai' else 'a'} {name} ({shape(dict(token))})."
                )
        try:
            claims = await self.verify(token["id_token"], nonce=login["nonce"], from_tenant=True)
        except TokenError as error:
            raise LoginError(str(error), status=401, title="Login refused") from error
        userinfo = None
        if not profile.has_display_claims(claims):
            userinfo = await self.userinfo(token["access_token"], claims["sub"])
        # A fresh session (fixation defence): nothing planted in the browser's session before the login
        # carries into the logged-in one; only what this login learned is kept.
        request.session.clear()
        profile.remember(request, claims["sub"], userinfo)
        return token["id_token"], profile.attach(request, claims)

    async def userinfo(self, access_token: str, sub: str) -> dict[str, Any] | None:
        """The provider's /userinfo answer for `sub` (None when it has no userinfo_endpoint).

        OpenID Connect Core 5.3.2: the answer's `sub` must be the id_token's, or it is someone else's
        profile (OpenID RP test rp-userinfo-bad-sub-claim): the login is refused.
        """
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not endpoint:
            return None
        issuer = self.settings.issuer
        try:
            response = await self.http.get(
                endpoint, headers={"authorization": f"Bearer {access_token}", "accept": "application/json"}
            )
        except httpx2.HTTPError as error:
            raise self._unavailable(error) from error
        body = _json_object(response) if response.status_code == 200 else None
        if body is None:
            raise ProviderError(f"The identity provider at {issuer} answered {endpoint} with {describe(response)}.")
        if body.get("sub") != sub:
            raise ProviderError(
                f"The identity provider at {issuer} answered {endpoint} for another user than the one who "
                "logged in (its sub is not the id_token's), so the login is refused."
            )
        return body

    async def logout_url(self, id_token: str | None, return_to: str) -> str | None:
        """Where to send the browser to end the tenant's session too, coming back to `return_to`.

        None: the provider offers no logout endpoint, so only this app's session can end.
        """
        metadata = await self.metadata()
        if end_session := metadata.get("end_session_endpoint"):
            params = {"post_logout_redirect_uri": return_to, "client_id": self.settings.client_id}
            if id_token:
                params["id_token_hint"] = id_token
            separator = "&" if "?" in end_session else "?"
            return f"{end_session}{separator}{urlencode(params)}"
        if self.settings.auth0:
            # Auth0 tenants without RP-initiated logout enabled still offer Auth0's own endpoint.
            query = urlencode({"returnTo": return_to, "client_id": self.settings.client_id})
            return f"{self.settings.issuer}v2/logout?{query}"
        return None


def _json_object(response: httpx2.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (HTML, an array, empty, a redirect)."""
    if response.is_redirect:
        return None
    try:
        body = response.json()
    except (ValueError, UnicodeError):
        return None
    return body if isinstance(body, dict) else None
