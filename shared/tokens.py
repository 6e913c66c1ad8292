"""One verifier for every id_token: from the code flow, the password grant, or read back from a cookie."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

import httpx2
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from shared.upstream import describe

ALGORITHMS = ("RS256",)  # Auth0 signs id_tokens with RS256; never "none", never HS256 with a public key
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_MAX_AGE = 120  # seconds: a logout token is delivered at once; an old one is a replay
REFETCH_COOLDOWN = 60.0  # seconds: the window each re-fetch budget is counted over, and how long a kid stays "tried"
COOKIE_REFETCHES = 1  # per REFETCH_COOLDOWN, for unknown kids in id_tokens read back from a cookie
LOGOUT_REFETCHES = 6  # per REFETCH_COOLDOWN, for unknown kids in logout tokens
TRIED_KIDS_SIZE = 256  # unknown kids remembered as already re-fetched for
CACHE_SIZE = 10_000

TokenKind = Literal["id_token", "logout token"]  # the name a refusal gives the token


class TokenError(Exception):
    """The id_token must not be trusted. The message is safe to show; it never contains the token."""


class KeysUnavailable(TokenError):
    """The JWKS could not be fetched or is not a JWKS: the provider's fault, not the token's."""


class Claims(dict[str, Any]):
    """A verified token's claims; templates read them as `user.nickname` (a missing claim is None).

    Plain dicts would work too, but Jinja tries attribute access first and pays for an exception on
    every `user.x` of a dict: this answers directly, which matters on a page rendered per request.
    """

    __getattr__ = dict.get


PublishedKey = tuple[str | None, RSAKey]  # the kid as the tenant published it (None: no kid) and the key


class IdTokenVerifier:
    """Verify id_tokens against the tenant's JWKS: signature, algorithm, iss, aud/azp, times, nonce.

    The JWKS is fetched once per process. A token whose `kid` is unknown may cause one re-fetch (key
    rotation), within budgets that keep a flood of made-up `kid`s from becoming a flood of requests
    to the tenant while a made-up `kid` cannot use up the re-fetch a genuine one needs: see
    `_refetch_keys`. Verified tokens are remembered until their `exp`, so a logged-in request in
    steady state does no RSA work.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        jwks_uri: str,
        http: httpx2.AsyncClient,
        *,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.jwks_uri = jwks_uri
        self.leeway = leeway
        self.clock = clock
        self.jwks_fetches = 0
        self._http = http
        self._keys: list[PublishedKey] | None = None
        self._monotonic = monotonic
        self._budgets: dict[TokenKind, RefetchBudget] = {
            "id_token": RefetchBudget(COOKIE_REFETCHES, REFETCH_COOLDOWN),
            "logout token": RefetchBudget(LOGOUT_REFETCHES, REFETCH_COOLDOWN),
        }
        self._tried_kids: OrderedDict[str, float] = OrderedDict()  # kid -> when it was re-fetched for
        self._lock = asyncio.Lock()
        # Keyed by the token's SHA-256, not the token: 32 bytes instead of ~1 KB a session, and the
        # process keeps no copy of every visitor's credential.
        self._verified: OrderedDict[bytes, Claims] = OrderedDict()

    async def verify(self, token: str, *, nonce: str | None = None, from_tenant: bool = False) -> Claims:
        """Return the token's claims, or raise TokenError saying why it is refused.

        `from_tenant`: the token came straight from the tenant's token endpoint (a login), not from a cookie.
        """
        now = self.clock()
        key = hashlib.sha256(token.encode()).digest()
        claims = self._verified.get(key)
        if claims is not None and nonce is None:
            if now < claims["exp"]:
                return claims
            del self._verified[key]
        claims = await self._verify_signature(token, "id_token", from_tenant)
        self._check_claims(claims, now)
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise TokenError("The id_token's nonce does not match this login.")
        self._remember(key, claims)
        return claims

    async def verify_logout_token(self, token: str) -> Claims:
        """Check a Back-Channel Logout token as OpenID Connect Back-Channel Logout 1.0 §2.6 says.

        Signature and `iss`/`aud`/`azp` as for an id_token; `iat` recent; the back-channel `events` member;
        `sid` and/or `sub`; never a `nonce` (so an id_token cannot pass as a logout token); `typ`,
        when present, `logout+jwt`. The caller refuses a `jti` it has seen before.
        """
        claims = await self._verify_signature(token, "logout token", from_tenant=False)  # anyone can POST one
        header = jws.extract_compact(token.encode("ascii")).protected
        if "typ" in header and str(header["typ"]).lower() not in ("logout+jwt", "application/logout+jwt"):
            raise TokenError("The logout token's typ is not logout+jwt.")
        now = self.clock()
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise TokenError(f"The logout token was refused: {error.description or error.error}.") from error
        self._check_audience(claims, "logout token")
        if not isinstance(claims["iat"], int) or now - claims["iat"] > LOGOUT_TOKEN_MAX_AGE + self.leeway:
            raise TokenError("The logout token is too old.")
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
            raise TokenError("The logout token has no back-channel logout event.")
        if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
            raise TokenError("The logout token names no session (sid) and no user (sub).")
        if "nonce" in claims:
            raise TokenError("The logout token carries a nonce: it is not a logout token.")
        if not isinstance(claims["jti"], str):
            raise TokenError("The logout token's jti is not a string.")
        return claims

    async def _verify_signature(self, token: str, kind: TokenKind, from_tenant: bool) -> Claims:
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeError) as error:
            raise TokenError(f"The {kind} is not a well-formed JWT.") from error
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(
                f"The {kind} is signed with {header.get('alg')!r}; only {', '.join(ALGORITHMS)} is accepted."
            )
        key = await self._key_for(header.get("kid"), kind, from_tenant)
        try:
            return Claims(jwt.decode(token, key, algorithms=list(ALGORITHMS)).claims)
        except JoseError as error:
            raise TokenError(f"The {kind}'s signature is not valid.") from error

    def _check_claims(self, claims: Claims, now: float) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise TokenError(f"The id_token was refused: {error.description or error.error}.") from error
        self._check_audience(claims, "id_token")

    def _check_audience(self, claims: Claims, kind: TokenKind) -> None:
        """`azp` where OpenID Connect Core 3.1.3.7 asks for it; `aud` itself is already known to list this client.

        Back-Channel Logout 1.0 §2.6 validates a logout token's `aud` as an ID token's, so both go through here.
        """
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise TokenError(f"The {kind} has several audiences and its azp is not this application.")
        if "azp" in claims and claims["azp"] != self.client_id:
            raise TokenError(f"The {kind} was issued to another application (azp).")

    async def _key_for(self, kid: str | None, kind: TokenKind, from_tenant: bool) -> RSAKey:
        keys = await self.load_keys()
        key = self._pick(keys, kid)
        if key is None and kid is not None:
            keys = await self._refetch_keys(kid, kind, from_tenant)
            key = self._pick(keys, kid)
        if key is None:
            if kid is None:
                raise TokenError(f"The {kind} names no key (kid) and the tenant publishes several.")
            raise TokenError(f"The {kind} is signed with a key the tenant does not publish.")
        return key

    @staticmethod
    def _pick(keys: list[PublishedKey], kid: str | None) -> RSAKey | None:
        if kid is not None:
            for published_kid, key in keys:
                if published_kid == kid:
                    return key
        # A single published key without a kid is unambiguous (OpenID RP test "rp-id_token-kid-absent-single-jwks").
        if len(keys) == 1 and (kid is None or keys[0][0] is None):
            return keys[0][1]
        return None

    async def load_keys(self) -> list[PublishedKey]:
        if self._keys is None:
            async with self._lock:
                if self._keys is None:
                    self._keys = await self._fetch()
        return self._keys

    async def _refetch_keys(self, kid: str, kind: TokenKind, from_tenant: bool) -> list[PublishedKey]:
        """Fetch the JWKS again for an unknown `kid`, unless that kid or this kind's budget says not now.

        Anyone can send a cookie or POST a logout token naming a random `kid`. Two rules keep that
        from costing either the tenant or a genuine token:

        - each kid is re-fetched for at most once per REFETCH_COOLDOWN (the last TRIED_KIDS_SIZE
          kids are remembered), so repeating one made-up kid costs one fetch, and a made-up kid
          spends nothing a different, genuine kid needs;
        - the re-fetches for distinct kids are counted per kind of token: LOGOUT_REFETCHES per
          REFETCH_COOLDOWN for logout tokens, COOKIE_REFETCHES for id_tokens read back from a cookie.
          A flood of random kids therefore costs at most those few fetches a minute, whatever its
          size; and junk in cookies cannot spend the logout tokens' budget, nor the other way round.

        What is left: a flood of distinct made-up kids sustained at more than LOGOUT_REFETCHES a
        minute keeps that budget empty, and a logout token signed with a key rotated in during it
        waits for the budget to refill (one re-fetch every REFETCH_COOLDOWN / LOGOUT_REFETCHES
        seconds). The cookie budget is one a minute because a cookie's id_token was received at a
        login, which already re-fetched for its key in the process that served it.

        A token from the tenant's token endpoint (the app asked for it, server to server) cannot be
        forged by a visitor, so it is never refused a re-fetch: at most one per real login, which the
        tenant's own login limits already bound. If a login's token had to wait too, one anonymous
        request right after a key rotation would make every login fail for a while.
        """
        async with self._lock:
            if self._keys is not None and self._pick(self._keys, kid) is not None:
                return self._keys  # another request re-fetched while this one waited for the lock
            now = self._monotonic()
            if from_tenant or (not self._tried_recently(kid, now) and self._budgets[kind].spend(now)):
                self._remember_tried(kid, now)
                self._keys = await self._fetch()
        return self._keys or []

    def _tried_recently(self, kid: str, now: float) -> bool:
        tried_at = self._tried_kids.get(kid)
        return tried_at is not None and now - tried_at < REFETCH_COOLDOWN

    def _remember_tried(self, kid: str, now: float) -> None:
        self._tried_kids[kid] = now
        self._tried_kids.move_to_end(kid)
        if len(self._tried_kids) > TRIED_KIDS_SIZE:
            self._tried_kids.popitem(last=False)

    async def _fetch(self) -> list[PublishedKey]:
        self.jwks_fetches += 1
        where = f"Could not load the tenant's signing keys from {self.jwks_uri}"
        try:
            response = await self._http.get(self.jwks_uri)
        except httpx2.HTTPError as error:
            raise KeysUnavailable(f"{where}.") from error
        try:
            if response.status_code != 200:
                raise ValueError("not a 200 answer")
            published = response.json()["keys"]
            if not isinstance(published, list):
                raise TypeError("keys is not a list")
            # Only public RSA signing keys: an "oct" key here would let anyone who knows it HMAC-sign tokens.
            keys = [
                (jwk.get("kid"), RSAKey.import_key(jwk))
                for jwk in published
                if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig"
            ]
        except (ValueError, KeyError, TypeError, JoseError) as error:
            raise KeysUnavailable(f"{where}: it sent {describe(response)}.") from error
        if not keys:
            raise KeysUnavailable(f"{where}: it publishes no RSA signing key ({describe(response)}).")
        return keys

    def _remember(self, key: bytes, claims: Claims) -> None:
        self._verified[key] = claims
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)


class RefetchBudget:
    """A token bucket: at most `size` re-fetches in a burst, refilled at `size` per `window` seconds.

    A bucket rather than a fixed window so that a flood cannot spend a whole window's budget at its
    end and the next window's at its start.
    """

    def __init__(self, size: int, window: float) -> None:
        self.size = size
        self.window = window
        self._tokens = float(size)
        self._updated: float | None = None

    def spend(self, now: float) -> bool:
        """Take one re-fetch if one is left at `now` (a monotonic time); say whether it was."""
        if self._updated is not None:
            self._tokens = min(self.size, self._tokens + (now - self._updated) * self.size / self.window)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
