"""Signing id_tokens with the tenant's current key, or, when a test asks for it, wrongly."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jwk, jwt

from .clients import Client
from .faults import Faults
from .keys import KeyStore


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
    key = keys.current
    if signing == "none":  # built by hand: the point is a token no careful library accepts
        header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = b64url(json.dumps(claims).encode())
        return f"{header}.{payload}."
    if signing == "hs256_client_secret":
        # The classic key-confusion attack: an HMAC keyed with something the client knows.
        secret = jwk.OctKey.import_key(client.client_secret)
        return jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
    if signing == "foreign_key":
        foreign = keys.foreign_key()
        return jwt.encode({"alg": "RS256", "kid": foreign.kid}, claims, foreign)
    if signing == "no_kid":
        return jwt.encode({"alg": "RS256"}, claims, key)
    token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
    if signing == "bad_signature":
        head, payload, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
        raw[len(raw) // 2] ^= 0x01
        token = f"{head}.{payload}.{b64url(bytes(raw))}"
    return token
