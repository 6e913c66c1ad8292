"""A real relying party (Authlib's client) logs in against the tenant on a loopback port."""

from __future__ import annotations

import httpx2
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwk, jwt

from shared.dev_tenant import DEMO_EMAIL, DEV_CLIENT_ID, DevTenant, dev_client_secret
from tests.support.servers import free_port, serve

from .conftest import form_fields


def test_authlib_authorization_code_login_with_pkce_yields_a_verifiable_id_token(state_dir):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    tenant = DevTenant(issuer, state_dir)
    callback = "http://localhost:3000/callback"  # in the tutorial's Allowed Callback URLs
    with serve(tenant.app, port), httpx2.Client(follow_redirects=False, timeout=10) as browser:
        config = browser.get(f"{issuer}.well-known/openid-configuration").json()
        rp = OAuth2Client(
            DEV_CLIENT_ID,
            dev_client_secret(state_dir),
            scope="openid profile email",
            redirect_uri=callback,
            code_challenge_method="S256",
            timeout=10,
        )
        verifier = "v" * 20 + "-PKCE-verifier-for-the-authlib-login-test-0123"
        url, state = rp.create_authorization_url(
            config["authorization_endpoint"], code_verifier=verifier, nonce="nonce-123"
        )
        response = browser.get(url)
        assert response.status_code == 302
        page = browser.get(issuer.rstrip("/") + response.headers["location"])
        assert "Continue" in page.text
        done = browser.post(
            f"{issuer}u/login",
            data={**form_fields(page.text), "username": DEMO_EMAIL, "password": "demo-Passw0rd"},
        )
        assert done.status_code == 302
        callback_url = done.headers["location"]
        assert callback_url.startswith(callback)

        token = rp.fetch_token(
            config["token_endpoint"], authorization_response=callback_url, code_verifier=verifier, state=state
        )
        assert token["token_type"] == "Bearer"
        keys = jwk.KeySet.import_key_set(browser.get(config["jwks_uri"]).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": DEV_CLIENT_ID},
            sub={"essential": True},
            nonce={"essential": True, "value": "nonce-123"},
        ).validate(decoded.claims)
        assert decoded.claims["email"] == DEMO_EMAIL
        assert decoded.claims["sub"].startswith("auth0|")

        info = rp.get(config["userinfo_endpoint"]).json()
        assert info["sub"] == decoded.claims["sub"]
        rp.close()
