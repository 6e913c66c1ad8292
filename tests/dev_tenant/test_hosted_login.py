"""/authorize and the hosted pages: what a person in the browser sees."""

from __future__ import annotations

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, Client

from .conftest import CALLBACK, authorize_params, form_fields, login, query, start_login, submit_login


def test_login_page_has_labelled_fields_continue_signup_and_demo_hint(client):
    page, _ = start_login(client)
    assert page.status_code == 200
    html = page.text
    assert 'for="username"' in html and 'id="username"' in html
    assert 'for="password"' in html and 'type="password"' in html
    assert "Continue" in html and "Sign up" in html and "Back to app" in html
    assert "local dev tenant" in html.lower() and "Auth0" in html
    assert DEMO_EMAIL in html and DEMO_PASSWORD in html
    assert page.headers["x-frame-options"] == "DENY"


def test_login_redirects_to_callback_with_code_and_state(client):
    callback, params = login(client)
    assert callback["state"] == params["state"]
    assert callback["code"]


def test_wrong_password_shows_error_and_never_echoes_the_password(client):
    page, _ = start_login(client)
    response = submit_login(client, page, password="Not-the-Passw0rd-xyz")
    assert response.status_code == 403
    assert "Wrong email or password." in response.text
    assert "Not-the-Passw0rd-xyz" not in response.text
    assert DEMO_EMAIL in response.text  # the email is kept for another try
    retry = client.post(
        "/u/login", data={**form_fields(response.text), "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert retry.status_code == 302


def test_unknown_client_is_an_error_page(client):
    response = client.get("/authorize", params=authorize_params(client_id="nobody"))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert client.get("/authorize").status_code == 400


def test_callback_url_mismatch_is_an_error_page_never_a_redirect(client):
    for bad in [
        "https://evil.example/callback",
        "http://localhost:3000/other",
        "http://localhost:3000/callback?x=1",
        "http://localhost.evil.example:3000/callback",
        "http://localhost/callback",
        "",
    ]:
        response = client.get("/authorize", params=authorize_params(redirect_uri=bad))
        assert response.status_code == 400, bad
        assert "location" not in response.headers
        assert "Callback URL mismatch" in response.text


def test_dev_client_accepts_the_tutorials_callback_urls_and_no_other_port(client):
    for url in ["http://localhost:3000/callback", "http://localhost:3001/callback"]:
        assert client.get("/authorize", params=authorize_params(redirect_uri=url)).status_code == 302
    for url in ["http://127.0.0.1:3001/callback", "http://localhost:55555/callback"]:
        assert client.get("/authorize", params=authorize_params(redirect_uri=url)).status_code == 400


def test_registered_client_callbacks_are_exact_and_have_no_wildcards(tenant, client):
    tenant.register_client(Client("other-app", "s3cret", ["http://localhost:*/callback", "http://app.test/cb"], []))
    ok = client.get("/authorize", params=authorize_params(client_id="other-app", redirect_uri="http://app.test/cb"))
    assert ok.status_code == 302
    bad = client.get("/authorize", params=authorize_params(client_id="other-app", redirect_uri=CALLBACK))
    assert bad.status_code == 400


def test_errors_after_a_valid_callback_are_redirected_with_state(client):
    response = client.get("/authorize", params=authorize_params(response_type="token", state="s1"))
    assert query(response.headers["location"]) == {
        "error": "unsupported_response_type",
        "error_description": "Unsupported response type: token",
        "state": "s1",
    }
    response = client.get("/authorize", params=authorize_params(code_challenge="x" * 43, code_challenge_method="plain"))
    assert query(response.headers["location"])["error"] == "invalid_request"
    response = client.get("/authorize", params=authorize_params(response_type=None))
    assert query(response.headers["location"])["error"] == "invalid_request"


def test_sso_session_skips_the_login_page_the_second_time(client):
    login(client)
    response = client.get("/authorize", params=authorize_params(state="again"))
    assert response.status_code == 302
    callback = query(response.headers["location"])
    assert callback["state"] == "again" and callback["code"]


def test_prompt_login_asks_again_despite_the_session(client):
    login(client)
    response = client.get("/authorize", params=authorize_params(prompt="login"))
    assert response.headers["location"].startswith("/u/login")


def test_prompt_none_without_session_is_login_required(client):
    response = client.get("/authorize", params=authorize_params(prompt="none", state="s2"))
    callback = query(response.headers["location"])
    assert response.headers["location"].startswith(CALLBACK)
    assert callback["error"] == "login_required" and callback["state"] == "s2" and callback["error_description"]


def test_prompt_none_with_session_issues_a_code(client):
    login(client)
    response = client.get("/authorize", params=authorize_params(prompt="none", state="s3"))
    callback = query(response.headers["location"])
    assert callback["code"] and callback["state"] == "s3"


def test_session_cookie_is_prefixed_httponly_and_lax(client):
    page, _ = start_login(client)
    response = submit_login(client, page)
    cookies = response.headers.get_list("set-cookie")
    session = [c for c in cookies if c.startswith("devtenant_session=")]
    assert session, cookies
    assert "httponly" in session[0].lower() and "samesite=lax" in session[0].lower()
    for cookie in cookies:
        assert cookie.startswith("devtenant_")


def test_cancel_returns_access_denied_to_the_app(client):
    page, params = start_login(client)
    response = client.post("/u/cancel", data=form_fields(page.text))
    assert response.status_code == 302
    callback = query(response.headers["location"])
    assert callback["error"] == "access_denied" and callback["state"] == params["state"]
    assert callback["error_description"]


def test_form_without_csrf_token_or_browser_cookie_is_refused(client, tenant):
    page, _ = start_login(client)
    fields = form_fields(page.text)
    response = client.post(
        "/u/login", data={"state": fields["state"], "csrf": "forged", "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 400 and "location" not in response.headers
    client.cookies.clear()
    response = client.post("/u/login", data={**fields, "username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 400


def test_unknown_or_expired_login_transaction_is_a_clear_page(client):
    response = client.get("/u/login", params={"state": "nope"})
    assert response.status_code == 400 and "expired" in response.text
    assert client.post("/u/login", content=b"garbage", headers={"content-type": "text/plain"}).status_code == 400


def test_hosted_signup_creates_the_user_and_logs_in(client, tenant):
    page, params = start_login(client)
    signup = client.get(f"/u/signup?state={form_fields(page.text)['state']}")
    assert signup.status_code == 200 and "Create your account" in signup.text
    weak = client.post("/u/signup", data={**form_fields(signup.text), "email": "new@example.com", "password": "weak"})
    assert weak.status_code == 400 and "too weak" in weak.text and 'value="weak"' not in weak.text
    ok = client.post(
        "/u/signup", data={**form_fields(signup.text), "email": "new@example.com", "password": "Str0ng-enough"}
    )
    assert ok.status_code == 302 and query(ok.headers["location"])["state"] == params["state"]
    assert tenant.users.get("Username-Password-Authentication", "new@example.com")


def test_hosted_signup_of_existing_user_shows_error(client):
    page, _ = start_login(client)
    signup = client.get(f"/u/signup?state={form_fields(page.text)['state']}")
    response = client.post(
        "/u/signup", data={**form_fields(signup.text), "email": DEMO_EMAIL, "password": "Str0ng-enough"}
    )
    assert response.status_code == 400 and "The user already exists." in response.text


def test_google_connection_shows_chooser_and_issues_google_users(client, secret):
    from .conftest import exchange

    page, _params = start_login(client, connection="google-oauth2")
    assert "Google" in page.text and "demo.google@example.com" in page.text
    fields = form_fields(page.text)
    response = client.post("/u/google", data={**fields, "account": "demo"})
    assert response.status_code == 302
    token = exchange(client, query(response.headers["location"])["code"], secret).json()
    info = client.get("/userinfo", headers={"authorization": f"Bearer {token['access_token']}"}).json()
    provider, digits = info["sub"].split("|")
    assert provider == "google-oauth2" and digits.isdigit()
    assert info["email_verified"] is True


def test_google_chooser_accepts_a_typed_account(client):
    page, _ = start_login(client, connection="google-oauth2")
    response = client.post(
        "/u/google",
        data={**form_fields(page.text), "account": "other", "name": "Grace Hopper", "email": "grace@example.com"},
    )
    assert response.status_code == 302
    bad_page, _ = start_login(client, connection="google-oauth2", prompt="login")
    bad = client.post("/u/google", data={**form_fields(bad_page.text), "account": "other", "email": "not-an-email"})
    assert bad.status_code == 400 and "valid email" in bad.text


def test_dev_client_is_registered_with_its_grants():
    from shared.dev_tenant.server import DEFAULT_GRANTS

    assert DEV_CLIENT_ID == "tutorial-app" and len(DEFAULT_GRANTS) == 3


def test_locked_out_login_page_names_the_unblock_command_not_an_email(client, tenant):
    page, _ = start_login(client)
    for _ in range(10):
        page = submit_login(client, page, password="Not-the-Passw0rd")
    assert page.status_code == 429
    assert "uv run python -m shared.dev_tenant --unblock demo@example.com" in page.text
    assert "sent you an email" not in page.text
    tenant.unblock_user(DEMO_EMAIL)
    assert submit_login(client, page).status_code == 302


def test_hosted_signup_lists_the_password_rules_with_their_special_characters(client):
    page, _ = start_login(client)
    signup = client.get(f"/u/signup?state={form_fields(page.text)['state']}")
    weak = client.post(
        "/u/signup", data={**form_fields(signup.text), "email": "new@example.com", "password": "weakweak"}
    )
    assert weak.status_code == 400
    html = weak.text
    assert '<ul class="rules" id="error-rules">' in html
    # Each mark is drawn for the eye and said in words for a screen reader.
    met = '<span aria-hidden="true">✓</span><span class="visually-hidden">met:</span>'
    unmet = '<span aria-hidden="true">✗</span><span class="visually-hidden">not met:</span>'
    assert f'<li class="met">{met} At least 8 characters in length' in html
    assert f'<li class="unmet">{unmet} Contain at least 3 of the following 4 types of characters:' in html
    assert f'<li class="met">{met} lower case letters (a-z)</li>' in html
    assert f'<li class="unmet">{unmet} special characters (e.g. !@#$%^&amp;*)</li>' in html
