"""/userinfo, /dbconnections/signup, /v2/logout and /oidc/logout."""

from __future__ import annotations

import threading

import httpx2

from shared.dev_tenant import DATABASE_CONNECTION, DEMO_EMAIL, DEV_CLIENT_ID, Client, DevTenant
from tests.support.servers import free_port, serve

from .conftest import CALLBACK, authorize_params, exchange, login, query


def test_userinfo_answers_the_profile_for_a_bearer_token(client, secret):
    callback, _ = login(client)
    tokens = exchange(client, callback["code"], secret).json()
    info = client.get("/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    body = info.json()
    assert body["email"] == DEMO_EMAIL and body["sub"].startswith("auth0|") and body["nickname"] == "demo"


def test_userinfo_without_or_with_bad_token_is_401(client, tenant, secret):
    missing = client.get("/userinfo")
    assert missing.status_code == 401 and missing.text == "Unauthorized"
    assert "Bearer" in missing.headers["www-authenticate"]
    bad = client.get("/userinfo", headers={"authorization": "Bearer nope"})
    assert bad.status_code == 401
    callback, _ = login(client)
    token = exchange(client, callback["code"], secret).json()["access_token"]
    real = tenant.clock
    tenant.clock = lambda: real() + 86401
    assert client.get("/userinfo", headers={"authorization": f"Bearer {token}"}).status_code == 401


def signup(client, **body):
    payload = {
        "client_id": DEV_CLIENT_ID,
        "email": "new@example.com",
        "password": "Str0ng-enough",
        "connection": DATABASE_CONNECTION,
        **body,
    }
    return client.post("/dbconnections/signup", json={k: v for k, v in payload.items() if v is not None})


def test_signup_answers_auth0_success_json(client, secret):
    response = signup(client, name="New Person")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "new@example.com" and body["email_verified"] is False
    assert len(body["_id"]) == 24 and body["name"] == "New Person"
    from .test_token_endpoint import password_grant

    assert password_grant(client, secret, username="new@example.com", password="Str0ng-enough").status_code == 200


def test_signup_of_existing_user_is_user_exists(client):
    response = signup(client, email=DEMO_EMAIL)
    assert response.status_code == 400
    assert response.json() == {
        "name": "BadRequestError",
        "code": "user_exists",
        "description": "The user already exists.",
        "statusCode": 400,
    }


def test_weak_password_is_invalid_password_with_the_policy_rules(client):
    response = signup(client, password="alllowercase")
    assert response.status_code == 400
    body = response.json()
    assert body["name"] == "PasswordStrengthError" and body["code"] == "invalid_password"
    assert body["message"] == "Password is too weak" and body["statusCode"] == 400
    assert "At least 8 characters in length" in body["policy"]
    rules = body["description"]["rules"]
    assert rules[0]["code"] == "lengthAtLeast" and rules[0]["verified"] is True
    assert rules[1]["code"] == "containsAtLeast" and rules[1]["verified"] is False
    items = {item["code"]: item["verified"] for item in rules[1]["items"]}
    assert items == {"lowerCase": True, "upperCase": False, "numbers": False, "specialCharacters": False}
    assert body["description"]["verified"] is False
    short = signup(client, password="Ab1!").json()
    assert short["description"]["rules"][0]["verified"] is False


def test_signup_bad_input_shapes(client):
    invalid = signup(client, email="not-an-email")
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid_signup"
    bad_connection = signup(client, connection="Nope")
    assert bad_connection.status_code == 400 and bad_connection.json()["name"] == "BadRequestError"
    for missing in ("email", "password", "connection", "client_id"):
        response = signup(client, **{missing: None})
        assert response.status_code == 400 and response.json()["statusCode"] == 400, missing
    garbage = client.post("/dbconnections/signup", content=b"{", headers={"content-type": "application/json"})
    assert garbage.status_code == 400 and garbage.json()["code"]
    huge = client.post("/dbconnections/signup", json={"email": "x" * 70000})
    assert huge.status_code == 413


def test_concurrent_signups_of_one_email_make_exactly_one_user(state_dir):
    tenant = DevTenant("http://127.0.0.1/", state_dir)
    port = free_port()
    results: list[int] = []
    with serve(tenant.app, port) as base:
        barrier = threading.Barrier(6)

        def attempt():
            barrier.wait()
            response = httpx2.post(
                f"{base}/dbconnections/signup",
                timeout=30,
                json={
                    "client_id": DEV_CLIENT_ID,
                    "email": "race@example.com",
                    "password": "Str0ng-enough",
                    "connection": DATABASE_CONNECTION,
                },
            )
            results.append(response.status_code)

        threads = [threading.Thread(target=attempt) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == [200] + [400] * 5
    import sqlite3

    with sqlite3.connect(state_dir / "tenant.sqlite3") as db:
        count = db.execute("SELECT COUNT(*) FROM users WHERE email = 'race@example.com'").fetchone()[0]
    assert count == 1


def test_database_holds_no_clear_text_password(tenant, client):
    tenant.create_user("plain@example.com", "Cle4r-text-canary")
    signup(client, email="other@example.com", password="An0ther-canary!")
    raw = b"".join(p.read_bytes() for p in tenant.state_dir.glob("tenant.sqlite3*"))
    assert b"Cle4r-text-canary" not in raw and b"An0ther-canary!" not in raw
    assert b"demo-Passw0rd" not in raw
    assert b"scrypt$" in raw


def test_v2_logout_ends_the_sso_session_and_redirects_to_allowed_url(client):
    login(client)
    response = client.get("/v2/logout", params={"returnTo": "http://localhost:3000", "client_id": DEV_CLIENT_ID})
    assert response.status_code == 302 and response.headers["location"] == "http://localhost:3000"
    assert "devtenant_session" in response.headers["set-cookie"]
    again = client.get("/authorize", params=authorize_params())
    assert again.headers["location"].startswith("/u/login")


def test_logout_ends_the_session_server_side_too(client, tenant):
    login(client)
    sid = client.cookies.get("devtenant_session")
    client.get("/v2/logout")
    client.cookies.set("devtenant_session", sid)  # a replayed cookie no longer works
    assert client.get("/authorize", params=authorize_params()).headers["location"].startswith("/u/login")


def test_v2_logout_without_return_to_shows_logged_out_page(client):
    response = client.get("/v2/logout")
    assert response.status_code == 200 and "You are logged out" in response.text


def test_v2_logout_refuses_urls_not_allowed(client, tenant):
    tenant.register_client(Client("other-app", "s", [CALLBACK], ["http://app.test/"]))
    for params in [
        {"returnTo": "https://evil.example/", "client_id": DEV_CLIENT_ID},
        {"returnTo": "http://localhost:3000"},
        {"returnTo": "http://localhost:3000/", "client_id": "other-app"},
        {"returnTo": "http://localhost:3000/elsewhere", "client_id": DEV_CLIENT_ID},
    ]:
        response = client.get("/v2/logout", params=params)
        assert response.status_code == 400 and "location" not in response.headers, params
        assert "Allowed Logout URLs" in response.text
    ok = client.get("/v2/logout", params={"returnTo": "http://app.test", "client_id": "other-app"})
    assert ok.status_code == 302
    slash = client.get("/v2/logout", params={"returnTo": "http://localhost:3000/", "client_id": DEV_CLIENT_ID})
    assert slash.status_code == 302


def test_oidc_logout_redirects_with_state_to_allowed_url(client, secret):
    callback, _ = login(client)
    id_token = exchange(client, callback["code"], secret).json()["id_token"]
    response = client.get(
        "/oidc/logout",
        params={"post_logout_redirect_uri": "http://localhost:3000/", "id_token_hint": id_token, "state": "bye"},
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith("http://localhost:3000/")
    assert query(response.headers["location"]) == {"state": "bye"}
    assert client.get("/authorize", params=authorize_params()).headers["location"].startswith("/u/login")


def test_oidc_logout_refuses_urls_not_allowed(client):
    response = client.get(
        "/oidc/logout", params={"post_logout_redirect_uri": "https://evil.example/", "client_id": DEV_CLIENT_ID}
    )
    assert response.status_code == 400 and "location" not in response.headers
    no_client = client.get("/oidc/logout", params={"post_logout_redirect_uri": "http://localhost:3000/"})
    assert no_client.status_code == 400
    plain = client.get("/oidc/logout")
    assert plain.status_code == 200 and "You are logged out" in plain.text
