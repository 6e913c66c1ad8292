"""Signing id_tokens and logout tokens with the tenant's current key, or, when a test asks for it, wrongly."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jwk, jwt

from .clients import Client
from .faults import Faults
from .keys import KeyStore

LOGOUT_TOKEN_TYP = "logout+jwt"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_id_token(keys: KeyStore, client: Client, claims: dict[str, Any], faults: Faults | None = None) -> str:
    """RS256 with the current key and its `kid`; `faults` (tests only) bend the claims or the signature."""
    signing = "rs256"
    if faults is not None:
        claims = {**claims, **faults.id_token_claims}
        for name in faults.id_token_remove:
            claims.pop(name, None)
        signing = faults.signing
    return sign_jwt(keys, client, claims, signing)


def sign_logout_token(keys: KeyStore, client: Client, claims: dict[str, Any], faults: Faults | None = None) -> str:
    """A Back-Channel Logout token: signed like an id_token, but explicitly typed `logout+jwt` so that
    neither can pass for the other (Back-Channel Logout 1.0 §4.1); `faults` (tests only) bend it."""
    signing, typ = "rs256", LOGOUT_TOKEN_TYP
    if faults is not None:
        claims = {**claims, **faults.logout_token_claims}
        for name in faults.logout_token_remove:
            claims.pop(name, None)
        signing, typ = faults.logout_token_signing, faults.logout_token_typ
    return sign_jwt(keys, client, claims, signing, typ=typ or None)


def sign_jwt(keys: KeyStore, client: Client, claims: dict[str, Any], signing: str, *, typ: str | None = "JWT") -> str:
    """RS256 with the current key and its `kid`, or one of the faults' SIGNING_MODES; `typ=None` omits it."""
    typed = {"typ": typ} if typ else {}
    key = keys.current
    if signing == "none":  # built by hand: the point is a token no careful library accepts
        header = b64url(json.dumps({"alg": "none", **typed}).encode())
        payload = b64url(json.dumps(claims).encode())
        return f"{header}.{payload}."
    if signing == "hs256_client_secret":
        # The classic key-confusion attack: an HMAC keyed with something the client knows.
        secret = jwk.OctKey.import_key(client.client_secret)
        return jwt.encode({**typed, "alg": "HS256"}, claims, secret, algorithms=["HS256"], default_type=None)
    if signing == "foreign_key":
        foreign = keys.foreign_key()
        return jwt.encode({**typed, "alg": "RS256", "kid": foreign.kid}, claims, foreign, default_type=None)
    if signing == "no_kid":
        return jwt.encode({**typed, "alg": "RS256"}, claims, key, default_type=None)
    token = jwt.encode({**typed, "alg": "RS256", "kid": key.kid}, claims, key, default_type=None)
    if signing == "bad_signature":
        head, payload, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
        raw[len(raw) // 2] ^= 0x01
        token = f"{head}.{payload}.{b64url(bytes(raw))}"
    return token
