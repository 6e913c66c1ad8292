"""The dashboard (Applications → Settings): the dev client's settings, stored, enforced with Auth0's words,
restored in one step; and its forms' defences."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant, banner
from shared.dev_tenant.clients import url_matches
from shared.dev_tenant.settings import SETTINGS_FILE, SettingsStore, tutorial_settings

from .conftest import ISSUER, authorize_params, exchange, login, query

REPO = Path(__file__).resolve().parents[2]

# Every URL the project's documented commands use, as a learner types them into Auth0 (README.md,
# the step READMEs, docs/workshop.md and docs/troubleshooting.md: port 3000, `--port 3001`; the
# benchmarks' baselines: `--port 3010`, `--port 3011`).
DOCUMENTED_CALLBACKS = [f"http://localhost:{port}/callback" for port in (3000, 3001, 3010, 3011)]
DOCUMENTED_LOGOUT_URLS = [f"http://localhost:{port}" for port in (3000, 3001, 3010, 3011)]
DOCUMENTED_BACKCHANNEL = [f"http://localhost:{port}/backchannel-logout" for port in (3000, 3001)]


def token_of(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/dashboard").text).group(1)


def form(**fields) -> dict:
    """A dashboard form: the tutorial's settings, with `fields` changed."""
    settings = tutorial_settings()
    values = {
        "callbacks": "\n".join(settings.callbacks),
        "allowed_logout_urls": "\n".join(settings.allowed_logout_urls),
        "backchannel_logout_urls": "\n".join(settings.backchannel_logout_urls),
        "grant_types": list(settings.grant_types),
        "enabled_connections": list(settings.enabled_connections),
    }
    values.update(fields)
    return values


def save(client: TestClient, headers: dict | None = None, token: str | None = None, **fields):
    body = {"csrf_token": token if token is not None else token_of(client), **form(**fields)}
    return client.post(
        "/dashboard",
        content=urlencode(body, doseq=True),
        headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
    )


def stored(state_dir: Path) -> dict:
    return json.loads((state_dir / SETTINGS_FILE).read_text())


# ---- the defaults -------------------------------------------------------------------------------------


def test_the_tutorials_settings_list_every_documented_url_and_are_stored_0600(tenant, state_dir):
    assert stored(state_dir) == {
        "callbacks": DOCUMENTED_CALLBACKS,
        "allowed_logout_urls": DOCUMENTED_LOGOUT_URLS,
        "oidc_logout": {"backchannel_logout_urls": DOCUMENTED_BACKCHANNEL},
        "grant_types": ["authorization_code", "password"],
        "enabled_connections": ["Username-Password-Authentication", "google-oauth2"],
    }
    assert stat.S_IMODE((state_dir / SETTINGS_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("url", DOCUMENTED_CALLBACKS)
def test_every_documented_callback_logs_in(client, url):
    assert client.get("/authorize", params=authorize_params(redirect_uri=url)).status_code == 302


def test_the_side_by_side_apps_each_get_their_own_logout_token_url(tenant):
    client = tenant.clients[DEV_CLIENT_ID]
    assert client.backchannel_target("http://localhost:3000") == "http://localhost:3000/backchannel-logout"
    assert client.backchannel_target("http://localhost:3001") == "http://localhost:3001/backchannel-logout"
    assert client.backchannel_target("http://localhost:3999") is None


# ---- matching as Auth0 does it ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "url", "matches"),
    [
        ("http://localhost:3000/callback", "http://localhost:3000/callback", True),
        ("http://localhost:3000/callback", "http://localhost:3000/callback/", False),  # the trailing slash counts
        ("http://localhost:3000/callback", "https://localhost:3000/callback", False),  # scheme
        ("http://localhost:3000/callback", "http://127.0.0.1:3000/callback", False),  # host
        ("http://localhost:3000/callback", "http://localhost:3001/callback", False),  # port
        ("http://localhost:3000/callback", "http://localhost/callback", False),
        ("http://localhost:3000/callback", "http://localhost:3000/Callback", False),  # path, case and all
        ("http://localhost:3000/callback", "http://localhost:3000/callback?x=1", False),  # query
        ("http://localhost:3000/callback", "http://LOCALHOST:3000/callback", True),  # host names have no case
        ("http://localhost:3000/callback", "http://localhost:3000@evil.example/callback", False),
        ("http://localhost:3000", "http://localhost:3000/", True),  # an empty path is "/"
        ("http://localhost:80/callback", "http://localhost/callback", True),  # the scheme's own port
    ],
)
def test_callback_urls_match_exactly(allowed, url, matches):
    assert url_matches(allowed, url) is matches


def test_logout_urls_are_compared_without_their_query_as_auth0_documents(client):
    ok = client.get("/v2/logout", params={"returnTo": "http://localhost:3000/?bye=1", "client_id": DEV_CLIENT_ID})
    assert ok.status_code == 302 and ok.headers["location"] == "http://localhost:3000/?bye=1"
    path = client.get("/v2/logout", params={"returnTo": "http://localhost:3000/x", "client_id": DEV_CLIENT_ID})
    assert path.status_code == 400


def test_any_app_port_matches_loopback_urls_on_any_port_but_nothing_else(state_dir):
    tenant = DevTenant(ISSUER, state_dir, any_app_port=True)
    dev = tenant.clients[DEV_CLIENT_ID]
    assert dev.allows_callback("http://localhost:45678/callback")
    assert dev.allows_callback("http://127.0.0.1:45678/callback")
    assert not dev.allows_callback("http://localhost:45678/other")
    assert not dev.allows_callback("http://evil.example:3000/callback")
    assert dev.backchannel_target("http://127.0.0.1:45678") == "http://127.0.0.1:45678/backchannel-logout"


# ---- enforcement, in Auth0's words ----------------------------------------------------------------------


def test_a_port_not_listed_gets_the_callback_mismatch_page_naming_the_url_and_where_to_add_it(client):
    response = client.get("/authorize", params=authorize_params(redirect_uri="http://localhost:3005/callback"))
    assert response.status_code == 400 and "location" not in response.headers
    text = response.text
    assert "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs." in text
    assert "http://localhost:3005/callback" in text and "Allowed Callback URLs" in text
    assert 'href="http://testserver/dashboard"' in text


def test_remove_the_callback_url_see_the_error_and_the_log_then_put_it_back(client):
    assert save(client, callbacks="http://localhost:3001/callback").status_code == 303
    refused = client.get("/authorize", params=authorize_params())
    assert refused.status_code == 400 and "Callback URL mismatch" in refused.text
    logs = client.get("/dashboard/logs", params={"type": "f"}).text
    assert "Callback URL mismatch. http://localhost:3000/callback is not in the list of allowed callback URLs" in logs
    token = token_of(client)
    restored = client.post("/dashboard/reset", data={"csrf_token": token})
    assert restored.status_code == 303 and restored.headers["location"] == "/dashboard?done=reset"
    assert client.get("/authorize", params=authorize_params()).status_code == 302


def test_a_logout_url_not_listed_gets_auth0s_logout_error_and_the_dashboard(client):
    save(client, allowed_logout_urls="http://localhost:3001")
    response = client.get("/v2/logout", params={"returnTo": "http://localhost:3000", "client_id": DEV_CLIENT_ID})
    assert response.status_code == 400 and "location" not in response.headers
    assert (
        "The &#34;returnTo&#34; querystring parameter &#34;http://localhost:3000&#34; is not defined as a valid URL "
        "in &#34;Allowed Logout URLs&#34;." in response.text
    )
    assert "Add http://localhost:3000 to Allowed Logout URLs" in response.text


def test_the_password_grant_without_password_enabled_is_unauthorized_client(client, secret):
    save(client, grant_types=["authorization_code"])
    for grant, extra in [("password", {}), ("http://auth0.com/oauth/grant-type/password-realm", {"realm": "x"})]:
        body = {"grant_type": grant, "client_id": DEV_CLIENT_ID, "client_secret": secret, **extra}
        response = client.post("/oauth/token", data={**body, "username": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert response.status_code == 403
        assert response.json() == {
            "error": "unauthorized_client",
            "error_description": f"Grant type '{grant}' not allowed for the client.",
        }
    event = client.get("/dashboard/logs", params={"type": "fepft"}).text
    assert "Grant type &#39;password&#39; not allowed for the client." in event


def test_authorization_code_not_enabled_refuses_the_exchange(client, secret):
    callback, _ = login(client)
    save(client, grant_types=["password"])
    response = exchange(client, callback["code"], secret)
    assert response.status_code == 403 and response.json()["error"] == "unauthorized_client"


def test_a_disabled_connection_is_refused_as_auth0_refuses_it(client, secret):
    save(client, enabled_connections=["Username-Password-Authentication"])
    response = client.get("/authorize", params=authorize_params(connection="google-oauth2"))
    assert response.status_code == 302
    assert query(response.headers["location"])["error_description"] == "the connection is not enabled"
    save(client, enabled_connections=["google-oauth2"])
    assert (
        "the connection is not enabled"
        in query(client.get("/authorize", params=authorize_params()).headers["location"])["error_description"]
    )
    body = {"grant_type": "password", "client_id": DEV_CLIENT_ID, "client_secret": secret}
    refused = client.post("/oauth/token", data={**body, "username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert refused.json() == {"error": "invalid_request", "error_description": "the connection is not enabled"}
    signup = client.post(
        "/dbconnections/signup",
        json={
            "client_id": DEV_CLIENT_ID,
            "connection": "Username-Password-Authentication",
            "email": "n@example.com",
            "password": "Passw0rd-New",
        },
    )
    assert signup.status_code == 400 and signup.json()["description"] == "the connection is not enabled"


def test_logout_tokens_go_only_to_the_configured_back_channel_logout_uri(state_dir, secret):
    from .test_backchannel_logout import log_in_at, receiving

    with receiving() as receiver:
        tenant = DevTenant(ISSUER, state_dir, testing=True)  # enforcing: the receiver's URLs are added below
        tenant.settings.update(callbacks=(receiver.callback,), backchannel_logout_urls=())
        with TestClient(tenant.app, follow_redirects=False) as client:
            log_in_at(client, receiver.callback, secret)
            client.get("/v2/logout")
            assert receiver.received == []  # no URI configured: nothing sent, and the log says why
            [why] = tenant.logs.events("oidc_backchannel_logout_failed")
            assert why["description"].startswith(f"No Back-Channel Logout URI on {receiver.base}")
            tenant.settings.update(backchannel_logout_urls=(f"{receiver.base}/fixed",))
            log_in_at(client, receiver.callback, secret)
            client.get("/v2/logout")
        assert [post["path"] for post in receiver.received] == ["/fixed"]


# ---- saving, restoring, surviving a restart -----------------------------------------------------------


def test_saved_settings_survive_a_restart(client, state_dir):
    save(client, callbacks="http://localhost:3100/callback, http://localhost:3200/callback")
    again = DevTenant(ISSUER, state_dir)
    assert again.clients[DEV_CLIENT_ID].callback_urls == [
        "http://localhost:3100/callback",
        "http://localhost:3200/callback",
    ]
    assert stat.S_IMODE((state_dir / SETTINGS_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("callbacks", "localhost:3000/callback", "Write the whole URL"),
        ("callbacks", "http://localhost:3000/callback#x", "no #fragment"),
        ("callbacks", "http://localhost:*/callback", "no wildcards"),
        ("callbacks", "javascript:alert(1)", "Write the whole URL"),
        ("allowed_logout_urls", "http://localhost:99999", "The port must be a number"),
        ("allowed_logout_urls", "http://user:pw@localhost:3000", "no user name or password"),
        ("backchannel_logout_urls", "https://example.com/backchannel-logout", "only to localhost"),
    ],
)
def test_an_invalid_url_is_refused_with_auth0s_message_and_nothing_is_saved(client, state_dir, field, value, words):
    before = stored(state_dir)
    response = save(client, **{field: value})
    assert response.status_code == 400
    assert (
        "Payload validation error: &#39;Object didn&#39;t pass validation for format absolute-uri-or-empty"
        in response.text
    )
    assert f"on property {field}" in response.text and words in response.text
    assert f'id="{field}" name="{field}" aria-describedby=' in response.text and 'aria-invalid="true"' in response.text
    assert stored(state_dir) == before


def test_an_unknown_grant_or_connection_is_refused(client, state_dir):
    before = stored(state_dir)
    assert save(client, grant_types=["client_credentials"]).status_code == 400
    assert save(client, enabled_connections=["github"]).status_code == 400
    assert stored(state_dir) == before


def test_a_save_is_logged_as_auth0s_sapi_update_a_client(client):
    save(client, callbacks="http://localhost:3000/callback")
    page = client.get("/dashboard/logs", params={"type": "sapi"}).text
    assert "Update a client" in page


# ---- the forms' defences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://localhost:3000"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_form_from_another_origin_is_refused_and_nothing_saved(client, state_dir, headers):
    before = stored(state_dir)
    response = save(client, headers=headers, callbacks="")
    assert response.status_code == 403 and "another web page" in response.text
    assert client.post("/dashboard/reset", data={"csrf_token": token_of(client)}, headers=headers).status_code == 403
    assert stored(state_dir) == before


def test_the_own_origin_is_accepted(client):
    assert save(client, headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"}).status_code == 303


@pytest.mark.parametrize("token", ["", "wrong"])
def test_a_form_without_the_dashboards_token_is_refused_and_nothing_saved(client, state_dir, token):
    before = stored(state_dir)
    response = save(client, token=token, callbacks="")
    assert response.status_code == 403 and "Reload the dashboard" in response.text
    assert stored(state_dir) == before


def test_a_form_of_another_kind_or_too_large_is_refused(client):
    token = token_of(client)
    assert client.post("/dashboard", json={"csrf_token": token}).status_code == 415
    big = urlencode({"csrf_token": token, "callbacks": "x" * 70_000})
    huge = client.post("/dashboard", content=big, headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413


def test_the_dashboard_is_answered_on_the_tenants_own_host_names_only(client):
    assert client.get("/dashboard", headers={"host": "evil.example"}).status_code == 400


def test_the_dashboard_pages_carry_the_security_headers(client):
    for path in ["/dashboard", "/dashboard/logs"]:
        response = client.get(path)
        assert response.headers["cache-control"] == "no-store"  # the page shows the client secret
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    saved = save(client)
    assert saved.headers["cache-control"] == "no-store" and saved.headers["x-content-type-options"] == "nosniff"


def test_the_client_secret_is_hidden_until_asked(client, secret):
    page = client.get("/dashboard").text
    assert f"<details><summary>Show Client Secret</summary><code>{secret}</code></details>" in page


# ---- a damaged settings file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"callback": []}', "unknown setting 'callback'"),
        (json.dumps({**tutorial_settings().as_json(), "callbacks": "http://localhost:3000/callback"}), "list of URLs"),
        (json.dumps({**tutorial_settings().as_json(), "callbacks": ["localhost:3000"]}), "absolute-uri-or-empty"),
        ("[]", "one JSON object"),
        ("\xff", "not valid JSON"),
    ],
)
def test_a_damaged_settings_file_is_one_line_at_start_and_the_tutorials_settings_apply(state_dir, text, words):
    (state_dir / SETTINGS_FILE).write_text(text, encoding="latin-1" if text == "\xff" else "utf-8")
    tenant = DevTenant(ISSUER, state_dir)
    [line] = [line for line in banner(tenant).splitlines() if "settings:" in line]
    assert words in line and "--reset-settings" in line
    assert tenant.clients[DEV_CLIENT_ID].callback_urls == list(tutorial_settings().callbacks)
    with TestClient(tenant.app) as client:
        assert "The settings file cannot be used" in client.get("/dashboard").text
    assert (state_dir / SETTINGS_FILE).read_text(encoding="latin-1") == text or text == "\xff"  # left as it was


def test_reset_settings_from_the_command_line_repairs_a_damaged_file(state_dir):
    (state_dir / SETTINGS_FILE).write_text("{oops", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "shared.dev_tenant", "--state-dir", str(state_dir), "--reset-settings"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "the tutorial's settings are restored" in result.stdout
    assert stored(state_dir)["callbacks"] == DOCUMENTED_CALLBACKS
    assert SettingsStore(state_dir).problem is None


def test_a_running_tenant_sees_a_hand_edit_and_a_reset_at_once(tenant, client, state_dir):
    data = stored(state_dir)
    data["callbacks"] = ["http://localhost:3001/callback"]
    (state_dir / SETTINGS_FILE).write_text(json.dumps(data) + "\n", encoding="utf-8")
    assert client.get("/authorize", params=authorize_params()).status_code == 400
    SettingsStore(state_dir).reset()
    assert client.get("/authorize", params=authorize_params()).status_code == 302


def test_the_home_page_and_the_banner_link_the_dashboard(client, tenant):
    assert 'href="http://testserver/dashboard"' in client.get("/").text
    assert "dashboard: http://testserver/dashboard" in banner(tenant)
