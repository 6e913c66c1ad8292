"""Discovery, JWKS, persisted keys and rotation."""

from __future__ import annotations

import stat

from joserfc import jwk, jwt

from shared.dev_tenant import DEV_CLIENT_ID, DevTenant, default_state_dir, dev_client_secret

from .conftest import ISSUER, exchange, login


def test_discovery_document_has_auth0_trailing_slash_issuer_and_endpoints(client):
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}authorize"
    assert doc["token_endpoint"] == f"{ISSUER}oauth/token"
    assert doc["userinfo_endpoint"] == f"{ISSUER}userinfo"
    assert doc["jwks_uri"] == f"{ISSUER}.well-known/jwks.json"
    assert doc["end_session_endpoint"] == f"{ISSUER}oidc/logout"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    assert doc["response_types_supported"] == ["code"]
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"sub", "email", "nonce", "sid", "picture"} <= set(doc["claims_supported"])


def test_issuer_without_trailing_slash_gets_one(state_dir):
    assert DevTenant("http://localhost:4123", state_dir).issuer == "http://localhost:4123/"


def test_end_session_endpoint_can_be_hidden(state_dir):
    from starlette.testclient import TestClient

    tenant = DevTenant(ISSUER, state_dir, advertise_end_session=False)
    doc = TestClient(tenant.app).get("/.well-known/openid-configuration").json()
    assert "end_session_endpoint" not in doc


def test_jwks_publishes_public_rsa_keys_with_kid(client):
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "RSA" and key["kid"] and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key


def test_key_file_and_client_secret_are_private(state_dir):
    DevTenant(ISSUER, state_dir)
    assert stat.S_IMODE((state_dir / "signing_keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "client_secret").stat().st_mode) == 0o600


def test_keys_and_client_secret_persist_across_a_restart(tmp_path):
    first = DevTenant(ISSUER, tmp_path)
    kid = first.keys.current.kid
    secret = dev_client_secret(tmp_path)
    second = DevTenant(ISSUER, tmp_path)
    assert second.keys.current.kid == kid
    assert dev_client_secret(tmp_path) == secret
    assert second.clients[DEV_CLIENT_ID].client_secret == secret


def test_default_state_dir_is_repo_dot_dev_tenant_or_env(monkeypatch, tmp_path):
    monkeypatch.delenv("DEV_TENANT_STATE_DIR", raising=False)
    path = default_state_dir()
    assert path.name == ".dev-tenant" and (path.parent / "shared").is_dir()
    monkeypatch.setenv("DEV_TENANT_STATE_DIR", str(tmp_path))
    assert default_state_dir() == tmp_path


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(tenant, client, secret):
    old_kid = tenant.keys.current.kid
    new_kid = tenant.rotate_key()
    assert new_kid != old_kid
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert kids == [old_kid, new_kid]
    callback, _ = login(client)
    token = exchange(client, callback["code"], secret).json()["id_token"]
    keys = jwk.KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    assert jwt.decode(token, keys, algorithms=["RS256"]).header["kid"] == new_kid

    tenant.retire_old_keys()
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert kids == [new_kid]
    # rotation survives a restart too
    assert DevTenant(ISSUER, tenant.state_dir).keys.current.kid == new_kid


def test_avatar_is_served_locally_as_svg_with_initials(client, tenant):
    user = tenant.create_user("ada.lovelace@example.com", "Sup3r-secret", name="Ada Lovelace")
    path = user.picture.removeprefix(ISSUER)
    response = client.get("/" + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert ">AL</text>" in response.text
    assert client.get("/avatars/unknown.svg").status_code == 200


def test_home_page_names_the_issuer(client):
    assert ISSUER in client.get("/").text
