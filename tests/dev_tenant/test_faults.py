"""The test-only misbehaviour API: each fault produces the token defect it claims."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from starlette.testclient import TestClient

from shared.dev_tenant import DEV_CLIENT_ID, DevTenant

from .conftest import ISSUER, exchange, login


def id_token(client, secret) -> str:
    callback, _ = login(client)
    return exchange(client, callback["code"], secret).json()["id_token"]


def parts(token: str) -> tuple[dict, dict, str]:
    def unb64(value: str) -> bytes:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def published(client) -> jwk.KeySet:
    return jwk.KeySet.import_key_set(client.get("/.well-known/jwks.json").json())


def test_normal_token_verifies(client, secret):
    token = id_token(client, secret)
    assert jwt.decode(token, published(client), algorithms=["RS256"]).claims["iss"] == ISSUER


@pytest.mark.parametrize(
    "faults, check",
    [
        ({"iss": "https://evil/"}, lambda c: c["iss"] == "https://evil/"),
        ({"aud": ["other", "tutorial-app"]}, lambda c: c["aud"] == ["other", "tutorial-app"]),
        ({"exp": 123}, lambda c: c["exp"] == 123),
        ({"nonce": "wrong"}, lambda c: c["nonce"] == "wrong"),
    ],
)
def test_id_token_claims_are_overridden_and_still_validly_signed(tenant, client, secret, faults, check):
    tenant.faults.update(id_token_claims=faults)
    claims = jwt.decode(id_token(client, secret), published(client), algorithms=["RS256"]).claims
    assert check(claims)


@pytest.mark.parametrize("claim", ["sub", "iat", "exp", "nonce"])
def test_id_token_claims_can_be_removed(tenant, client, secret, claim):
    tenant.faults.update(id_token_remove=[claim])
    claims = jwt.decode(id_token(client, secret), published(client), algorithms=["RS256"]).claims
    assert claim not in claims and "iss" in claims


def test_faults_also_apply_to_the_password_grant(tenant, client, secret):
    from .test_token_endpoint import password_grant

    tenant.faults.update(id_token_claims={"aud": "someone-else"})
    token = password_grant(client, secret).json()["id_token"]
    assert parts(token)[1]["aud"] == "someone-else"


def test_bad_signature_fails_verification(tenant, client, secret):
    tenant.faults.update(signing="bad_signature")
    token = id_token(client, secret)
    header, claims, _ = parts(token)
    assert header["alg"] == "RS256" and header["kid"] and claims["sub"]
    with pytest.raises(BadSignatureError):
        jwt.decode(token, published(client), algorithms=["RS256"])


def test_alg_none_has_an_empty_signature(tenant, client, secret):
    tenant.faults.update(signing="none")
    header, claims, signature = parts(id_token(client, secret))
    assert header["alg"] == "none" and signature == "" and claims["aud"] == DEV_CLIENT_ID


def test_hs256_is_signed_with_the_client_secret(tenant, client, secret):
    tenant.faults.update(signing="hs256_client_secret")
    token = id_token(client, secret)
    assert parts(token)[0]["alg"] == "HS256"
    claims = jwt.decode(token, jwk.OctKey.import_key(secret), algorithms=["HS256"]).claims
    assert claims["aud"] == DEV_CLIENT_ID


def test_foreign_key_uses_an_unpublished_kid(tenant, client, secret):
    tenant.faults.update(signing="foreign_key")
    token = id_token(client, secret)
    kid = parts(token)[0]["kid"]
    assert kid not in [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(token, published(client), algorithms=["RS256"])


def test_no_kid_signs_with_the_current_key_without_kid(tenant, client, secret):
    tenant.faults.update(signing="no_kid")
    token = id_token(client, secret)
    assert "kid" not in parts(token)[0]
    assert jwt.decode(token, tenant.keys.current, algorithms=["RS256"]).claims["sub"]


def test_jwks_without_kid_and_several_keys_without_kid(tenant, client, secret):
    tenant.faults.update(jwks="no_kid")
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1 and "kid" not in keys[0]
    tenant.faults.update(jwks="multi_no_kid")
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) >= 2 and all("kid" not in k for k in keys)
    assert tenant.keys.current.as_dict(private=False)["n"] in [k["n"] for k in keys]


def test_userinfo_claims_are_overridden(tenant, client, secret):
    tenant.faults.update(userinfo_claims={"sub": "auth0|someone-else"})
    callback, _ = login(client)
    access = exchange(client, callback["code"], secret).json()["access_token"]
    info = client.get("/userinfo", headers={"authorization": f"Bearer {access}"}).json()
    assert info["sub"] == "auth0|someone-else"


def test_faults_http_api_merges_resets_and_rotates(tenant, client, secret):
    assert client.post("/test/faults", json={"signing": "none"}).status_code == 200
    assert client.post("/test/faults", json={"id_token_claims": {"iss": "x"}}).status_code == 200
    assert tenant.faults.signing == "none" and tenant.faults.id_token_claims == {"iss": "x"}
    assert client.post("/test/faults", json={"signing": "bogus"}).status_code == 400
    assert client.post("/test/faults", json={"unknown": 1}).status_code == 400
    assert client.post("/test/faults", content=b"[", headers={"content-type": "application/json"}).status_code == 400
    assert client.delete("/test/faults").status_code == 200
    assert tenant.faults.signing == "rs256" and tenant.faults.id_token_claims == {}
    old = tenant.keys.current.kid
    kid = client.post("/test/rotate-key").json()["kid"]
    assert kid != old and kid == tenant.keys.current.kid


def test_faults_python_api_rejects_bad_values(tenant):
    with pytest.raises(ValueError):
        tenant.faults.update(jwks="weird")
    with pytest.raises(ValueError):
        tenant.faults.update(id_token_remove="sub")
    tenant.faults.update(id_token_remove=["sub"])
    tenant.faults.reset()
    assert tenant.faults.id_token_remove == []


def test_test_routes_do_not_exist_in_the_default_run(state_dir):
    tenant = DevTenant(ISSUER, state_dir)
    assert not tenant.faults
    client = TestClient(tenant.app)
    assert client.post("/test/faults", json={"signing": "none"}).status_code == 404
    assert client.delete("/test/faults").status_code == 404
    assert client.post("/test/rotate-key").status_code == 404
