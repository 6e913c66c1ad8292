"""/oauth/token: grants, client authentication, PKCE, codes, lock-out, Auth0's error JSON."""

from __future__ import annotations

import base64

from joserfc import jwk, jwt

from shared.dev_tenant import DATABASE_CONNECTION, DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, Client

from .conftest import CALLBACK, ISSUER, exchange, login, pkce_pair

REALM = "http://auth0.com/oauth/grant-type/password-realm"


def decode(client, token: str) -> dict:
    keys = jwk.KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    return jwt.decode(token, keys, algorithms=["RS256"]).claims


def password_grant(client, secret, password=DEMO_PASSWORD, username=DEMO_EMAIL, **extra):
    data = {
        "grant_type": "password",
        "client_id": DEV_CLIENT_ID,
        "client_secret": secret,
        "username": username,
        "password": password,
        "scope": "openid profile email",
        **extra,
    }
    return client.post("/oauth/token", data=data)


def test_code_exchange_answers_tokens_with_auth0_like_claims(client, secret):
    callback, params = login(client)
    response = exchange(client, callback["code"], secret)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "id_token", "scope", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert response.headers["cache-control"] == "no-store"
    claims = decode(client, body["id_token"])
    assert claims["iss"] == ISSUER and claims["aud"] == DEV_CLIENT_ID
    assert claims["sub"].startswith("auth0|") and len(claims["sub"]) == len("auth0|") + 24
    assert claims["exp"] - claims["iat"] == 36000
    assert claims["nonce"] == params["nonce"]
    assert claims["email"] == DEMO_EMAIL and claims["email_verified"] is False
    assert claims["nickname"] == "demo" and claims["name"]
    assert claims["picture"].startswith(f"{ISSUER}avatars/") and claims["picture"].endswith(".svg")
    assert claims["sid"] and "T" in claims["updated_at"]


def test_client_secret_basic_works(client, secret):
    callback, _ = login(client)
    basic = base64.b64encode(f"{DEV_CLIENT_ID}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        headers={"authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": CALLBACK},
    )
    assert response.status_code == 200


def test_json_body_works(client, secret):
    callback, _ = login(client)
    response = client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": DEV_CLIENT_ID,
            "client_secret": secret,
            "code": callback["code"],
            "redirect_uri": CALLBACK,
        },
    )
    assert response.status_code == 200


def test_bad_client_secret_is_auth0_401(client, secret):
    callback, _ = login(client)
    response = exchange(client, callback["code"], "wrong-secret")
    assert response.status_code == 401
    assert response.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    basic = base64.b64encode(f"{DEV_CLIENT_ID}:nope".encode()).decode()
    response = client.post(
        "/oauth/token",
        headers={"authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
    )
    assert response.status_code == 401
    assert client.post("/oauth/token", data={"grant_type": "password"}).status_code == 401


def test_code_is_single_use(client, secret):
    callback, _ = login(client)
    assert exchange(client, callback["code"], secret).status_code == 200
    again = exchange(client, callback["code"], secret)
    assert again.status_code == 403
    assert again.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}


def test_code_expires_after_five_minutes(client, tenant, secret):
    callback, _ = login(client)
    real = tenant.clock
    tenant.clock = lambda: real() + 301
    response = exchange(client, callback["code"], secret)
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_redirect_uri(client, secret):
    callback, _ = login(client)
    response = exchange(client, callback["code"], secret, redirect_uri="http://localhost:3001/callback")
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_the_client(client, tenant, secret):
    tenant.register_client(Client("other-app", "other-secret", [CALLBACK], []))
    callback, _ = login(client)
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "other-app",
            "client_secret": "other-secret",
            "code": callback["code"],
            "redirect_uri": CALLBACK,
        },
    )
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


def test_pkce_right_verifier_is_accepted(client, secret):
    verifier, challenge = pkce_pair()
    callback, _ = login(client, code_challenge=challenge, code_challenge_method="S256")
    assert exchange(client, callback["code"], secret, code_verifier=verifier).status_code == 200


def test_pkce_wrong_verifier_is_invalid_grant(client, secret):
    _, challenge = pkce_pair()
    callback, _ = login(client, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(client, callback["code"], secret, code_verifier=pkce_pair()[0])
    assert response.status_code == 403
    assert response.json() == {"error": "invalid_grant", "error_description": "Failed to verify code verifier"}


def test_pkce_missing_verifier_is_invalid_grant(client, secret):
    _, challenge = pkce_pair()
    callback, _ = login(client, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(client, callback["code"], secret)
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


def test_verifier_without_challenge_is_invalid_grant(client, secret):
    callback, _ = login(client)
    response = exchange(client, callback["code"], secret, code_verifier=pkce_pair()[0])
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


def test_password_grant_and_password_realm(client, secret):
    response = password_grant(client, secret)
    assert response.status_code == 200
    claims = decode(client, response.json()["id_token"])
    assert claims["email"] == DEMO_EMAIL and "nonce" not in claims
    realm = password_grant(client, secret, grant_type=REALM, realm=DATABASE_CONNECTION)
    assert realm.status_code == 200
    missing = password_grant(client, secret, grant_type=REALM)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    bad_realm = password_grant(client, secret, grant_type=REALM, realm="nope")
    assert bad_realm.status_code == 400


def test_wrong_password_is_auth0_invalid_grant(client, secret):
    response = password_grant(client, secret, password="Wr0ng-password")
    assert response.status_code == 403
    assert response.json() == {"error": "invalid_grant", "error_description": "Wrong email or password."}
    unknown = password_grant(client, secret, username="nobody@example.com")
    assert unknown.status_code == 403 and unknown.json() == response.json()


def test_grant_not_allowed_for_client_is_unauthorized_client(client, tenant):
    tenant.register_client(Client("code-only", "s", [CALLBACK], [], grant_types=["authorization_code"]))
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": REALM,
            "client_id": "code-only",
            "client_secret": "s",
            "username": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "realm": DATABASE_CONNECTION,
        },
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": f"Grant type '{REALM}' not allowed for the client.",
    }


def test_ten_wrong_passwords_block_until_unblocked(client, tenant, secret):
    for _ in range(9):
        assert password_grant(client, secret, password="Wr0ng-password").status_code == 403
    tenth = password_grant(client, secret, password="Wr0ng-password")
    assert tenth.status_code == 429 and tenth.json()["error"] == "too_many_attempts"
    blocked = password_grant(client, secret)
    assert blocked.status_code == 429
    # Auth0's shape and first sentence; the dev tenant sends no email, so it names the command instead.
    assert blocked.json() == {
        "error": "too_many_attempts",
        "error_description": "Your account has been blocked after multiple consecutive login attempts. "
        f"The dev tenant sends no email: to unblock it, run {tenant.unblock_command(DEMO_EMAIL)}",
    }
    assert "uv run python -m shared.dev_tenant --unblock demo@example.com" in tenant.unblock_command(DEMO_EMAIL)
    tenant.unblock_user(DEMO_EMAIL)
    assert password_grant(client, secret).status_code == 200


def test_a_correct_password_resets_the_count(client, secret):
    for _ in range(9):
        password_grant(client, secret, password="Wr0ng-password")
    assert password_grant(client, secret).status_code == 200
    assert password_grant(client, secret, password="Wr0ng-password").status_code == 403


def test_bad_requests_get_auth0_error_json(client, secret):
    base = {"client_id": DEV_CLIENT_ID, "client_secret": secret}
    cases = [
        ({**base}, 400, "invalid_request"),
        ({**base, "grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({**base, "grant_type": "authorization_code"}, 400, "invalid_request"),
        ({**base, "grant_type": "password", "password": "x"}, 400, "invalid_request"),
        ({**base, "grant_type": "password", "username": "x"}, 400, "invalid_request"),
    ]
    for data, status, error in cases:
        response = client.post("/oauth/token", data=data)
        assert response.status_code == status, data
        assert response.json()["error"] == error and response.json()["error_description"]

    malformed = client.post("/oauth/token", content=b"{nope", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"
    not_object = client.post("/oauth/token", json=["a"])
    assert not_object.status_code == 400
    wrong_type = client.post("/oauth/token", content=b"<x/>", headers={"content-type": "application/xml"})
    assert wrong_type.status_code == 415 and wrong_type.json()["error"] == "invalid_request"
    huge = client.post("/oauth/token", data={"grant_type": "password", "username": "x" * 70000})
    assert huge.status_code == 413 and huge.json()["error"] == "invalid_request"
    non_string = client.post("/oauth/token", json={**base, "grant_type": "password", "username": 1, "password": "x"})
    assert non_string.status_code == 400
    assert client.get("/oauth/token").status_code == 405
    # and the tenant keeps serving
    assert password_grant(client, secret).status_code == 200
