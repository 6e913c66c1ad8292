"""The tenant as every step sees it: its checked discovery document, the one id_token verifier, /userinfo, logout.

A step registers its own Authlib client and makes the login moves itself; this module is what a
learner may skip: how discovery is checked, how the signing keys are cached, how a provider that
answers wrongly becomes an error page.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2

from shared.config import Settings, is_loopback, plain_http_issuer
from shared.errors import TenantAnsweredWrongly, TenantUnavailable
from shared.tokens import Claims, IdTokenVerifier, KeysUnavailable
from shared.upstream import describe, shape, trim

SCOPE = "openid profile email"
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL_ENDPOINTS = ("userinfo_endpoint", "end_session_endpoint")


class _SharedTransport(httpx2.AsyncBaseTransport):
    """The app's transport, lent to Authlib's per-call clients: closing one of them keeps the pool open."""

    def __init__(self, transport: httpx2.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        """The app's lifespan closes the real transport, once, at shutdown."""


def unavailable(issuer: str, error: httpx2.HTTPError) -> TenantUnavailable:
    """The page for a provider that did not answer: a name that does not resolve says so, a slow one is a 504."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, socket.gaierror):
        cause = cause.__cause__ or cause.__context__
    return TenantUnavailable(
        issuer,
        timed_out=isinstance(error, httpx2.TimeoutException),
        unresolved=cause is not None,
        plain_http=plain_http_issuer(issuer, error),
    )


class Tenant:
    """Discovery, the id_token verifier, /userinfo and the logout URL for one tenant (Auth0 or any OpenID Connect provider)."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient, transport: httpx2.AsyncBaseTransport) -> None:
        self.settings = settings
        self.http = http
        self._metadata: dict[str, Any] | None = None
        self._verifier: IdTokenVerifier | None = None
        self._discovering = asyncio.Lock()
        self._setting_up = asyncio.Lock()
        # What a step's Authlib client is registered with (its client_kwargs), so that Authlib's
        # short-lived per-call HTTP clients share the app's one connection pool.
        self.http_options: dict[str, Any] = {
            "transport": _SharedTransport(transport),
            "timeout": settings.http_timeout,
            # Proxy variables never apply to a loopback tenant; reading them costs each client time.
            "trust_env": not is_loopback(urlsplit(settings.issuer).hostname or ""),
        }

    def lend_to(self, client: Any) -> None:
        """Give a step's Authlib client this tenant's checked discovery, pool and token-answer check.

        Authlib asks its client's `load_server_metadata()` for the endpoints before it makes any
        authorization URL or code exchange. Answering with metadata() — fetched and
        checked here, once per process, retried while it fails — instead of letting Authlib fetch a
        `server_metadata_url` itself, makes a wrong discovery document a page naming the tenant, not
        a traceback; tests/security/test_provider_answers.py fails if an Authlib upgrade stops asking.
        """
        client.load_server_metadata = self.metadata
        client.client_kwargs.update(self.http_options)  # Authlib's per-call clients share the pool
        client.compliance_fix = self.compliance_fix  # a token answer not in JSON: a 502 page

    def _unavailable(self, error: httpx2.HTTPError) -> TenantUnavailable:
        return unavailable(self.settings.issuer, error)

    async def metadata(self) -> dict[str, Any]:
        """The tenant's discovery document, fetched and checked once per process (retried while it fails)."""
        if self._metadata is None:
            async with self._discovering:
                if self._metadata is None:
                    self._metadata = await self._discover()
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
        document = json_object(response)
        if document is None:
            raise TenantAnsweredWrongly(
                f"The identity provider at {issuer} sent no discovery document at {url}: it sent {describe(response)}."
            )
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer we were configured with.
        if document.get("issuer") != issuer:
            said = document.get("issuer")
            fix = (
                f" Set AUTH0_DOMAIN to {trim(repr(said))} exactly." if isinstance(said, str) else " Check AUTH0_DOMAIN."
            )
            raise TenantAnsweredWrongly(
                f"The tenant says its issuer is {trim(repr(said))}, not {issuer!r}: issuers are compared "
                f"byte for byte, trailing slash included.{fix}"
            )
        for name in (*REQUIRED_ENDPOINTS, *OPTIONAL_ENDPOINTS):
            value = document.get(name)
            if value is None and name in OPTIONAL_ENDPOINTS:
                continue
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise TenantAnsweredWrongly(
                    f"The identity provider at {issuer} sent a discovery document whose {name} is "
                    f"{'missing' if value is None else 'not a URL'} ({describe(response)})."
                )
        return document

    def check_token_answer(self, response: httpx2.Response) -> httpx2.Response:
        """Let Authlib read a token answer only when it is OAuth's JSON: a token with an id_token, or a 4xx `error`.

        Authlib's public hook for providers that bend the spec (see compliance_fix): anything else
        becomes a 502 page naming the provider, never a traceback.
        """
        body = json_object(response)
        if body is not None and 400 <= response.status_code < 500 and isinstance(body.get("error"), str):
            return response
        problem = "with " + describe(response)
        if body is not None and response.status_code == 200:
            problem = self._token_problem(body)
            if not problem:
                return response
        raise TenantAnsweredWrongly(
            f"The identity provider at {self.settings.issuer} answered the code exchange at its token endpoint "
            f"{problem}."
        )

    def compliance_fix(self, session: Any) -> None:
        """Authlib's `compliance_fix` registration hook: install check_token_answer on its OAuth client."""
        session.register_compliance_hook("access_token_response", self.check_token_answer)

    @staticmethod
    def _token_problem(body: dict[str, Any]) -> str:
        for name in ("id_token", "access_token"):
            if not isinstance(body.get(name), str) or not body[name]:
                return f"without {'an' if name[0] in 'ai' else 'a'} {name} ({shape(body)})"
        expires_in = body.get("expires_in")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, int)):
            return f"with an expires_in that is not a number of seconds ({shape(body)})"
        return ""

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

    async def verify_id_token(self, id_token: str, *, nonce: str | None = None, from_tenant: bool = False) -> Claims:
        """Verify an id_token: signature (JWKS cached per process), iss, aud/azp, exp/iat/nbf, and the nonce if given.

        Raises TokenError when the token must not be trusted; TenantUnavailable or TenantAnsweredWrongly when
        the keys cannot be had. `from_tenant`: the tenant's answer to a login, not read back from a cookie.
        """
        verifier = await self.verifier()
        try:
            return await verifier.verify(id_token, nonce=nonce, from_tenant=from_tenant)
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

    async def verify_logout_token(self, logout_token: str) -> Claims:
        """Verify a Back-Channel Logout token (raises TokenError), with the same errors as verify_id_token()."""
        verifier = await self.verifier()
        try:
            return await verifier.verify_logout_token(logout_token)
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

    def _keys_error(self, error: KeysUnavailable) -> Exception:
        if isinstance(error.__cause__, httpx2.HTTPError):
            return self._unavailable(error.__cause__)
        return TenantAnsweredWrongly(
            f"The identity provider at {self.settings.issuer} has no usable signing keys. {error}"
        )

    async def warm_up(self) -> None:
        """Load discovery and the JWKS before the first visitor needs them."""
        verifier = await self.verifier()
        try:
            await verifier.load_keys()
        except KeysUnavailable as error:
            raise self._keys_error(error) from error

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
        body = json_object(response) if response.status_code == 200 else None
        if body is None:
            raise TenantAnsweredWrongly(
                f"The identity provider at {issuer} answered {endpoint} with {describe(response)}."
            )
        if body.get("sub") != sub:
            raise TenantAnsweredWrongly(
                f"The identity provider at {issuer} answered {endpoint} for another user than the one who "
                "logged in (its sub is not the id_token's), so the login is refused."
            )
        return body

    async def logout_url(self, return_to: str, *, sid: str | None = None) -> str | None:
        """Where to send the browser to end the tenant's session too, coming back to `return_to`.

        No id_token_hint: the URL stays in the browser's history, and the token in it would still log
        in to any app that trusts it until it expires. `client_id` with `post_logout_redirect_uri`, and
        the tenant session's `sid` as `logout_hint`, are what RP-Initiated Logout 1.0 §2 and Auth0 take
        instead. None: the provider offers no logout endpoint, so only this app's session can end.
        """
        metadata = await self.metadata()
        if end_session := metadata.get("end_session_endpoint"):
            params = {"post_logout_redirect_uri": return_to, "client_id": self.settings.client_id}
            if sid:
                params["logout_hint"] = sid
            separator = "&" if "?" in end_session else "?"
            return f"{end_session}{separator}{urlencode(params)}"
        if self.settings.auth0:
            # Auth0 tenants without RP-initiated logout enabled still offer Auth0's own endpoint.
            query = urlencode({"returnTo": return_to, "client_id": self.settings.client_id})
            return f"{self.settings.issuer}v2/logout?{query}"
        return None


def json_object(response: httpx2.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (HTML, an array, empty, a redirect)."""
    if response.is_redirect:
        return None
    try:
        body = response.json()
    except (ValueError, UnicodeError):
        return None
    return body if isinstance(body, dict) else None
