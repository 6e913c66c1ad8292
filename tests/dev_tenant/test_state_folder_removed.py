"""`rm -rf .dev-tenant` while a step runs: every answer says the state folder is gone and how to recover
(restart the step), as a page for the browser and Auth0-shaped JSON for the apps; never a bare 500."""

from __future__ import annotations

import shutil

import pytest
from starlette.testclient import TestClient

from shared.dev_tenant import DATABASE_CONNECTION, DEV_CLIENT_ID, DevTenant

from .conftest import ISSUER, authorize_params, form_fields, start_login
from .test_token_endpoint import password_grant


@pytest.fixture
def removed(state_dir):
    """A tenant whose state folder was removed after it started, and a browser on it."""
    tenant = DevTenant(ISSUER, state_dir, testing=True)
    with TestClient(tenant.app, follow_redirects=False, raise_server_exceptions=False) as browser:
        page, _ = start_login(browser)  # a login page opened before the folder went
        shutil.rmtree(state_dir)
        yield tenant, browser, page


def assert_explains(text: str, state_dir) -> None:
    assert str(state_dir.resolve()) in text
    assert "was removed" in text and "Ctrl-C" in text and "run it" in text and "again" in text


def test_the_login_page_says_the_folder_was_removed_and_to_restart(removed, state_dir):
    _, browser, page = removed
    again = browser.get(page.url)
    assert again.status_code == 503 and again.headers["content-type"].startswith("text/html")
    assert_explains(again.text, state_dir)
    assert "Traceback" not in again.text and "Internal Server Error" not in again.text


def test_submitting_the_login_form_says_the_same(removed, state_dir):
    _, browser, page = removed
    fields = form_fields(page.text)
    response = browser.post("/u/login", data={**fields, "username": "demo@example.com", "password": "x"})
    assert response.status_code == 503
    assert_explains(response.text, state_dir)


def test_a_new_login_says_the_same(removed, state_dir):
    _, browser, _ = removed
    response = browser.get("/authorize", params=authorize_params())
    assert response.status_code == 503 and "text/html" in response.headers["content-type"]
    assert_explains(response.text, state_dir)


def test_the_token_endpoint_answers_auth0_shaped_json(removed, state_dir):
    tenant, browser, _ = removed
    response = password_grant(browser, tenant.clients[DEV_CLIENT_ID].client_secret)
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "temporarily_unavailable"
    assert_explains(body["error_description"], state_dir)
    assert response.headers["cache-control"] == "no-store"


def test_signup_answers_auth0_shaped_json(removed, state_dir):
    _, browser, _ = removed
    body = {"client_id": DEV_CLIENT_ID, "connection": DATABASE_CONNECTION, "email": "a@b.co", "password": "Pass-w0rd"}
    response = browser.post("/dbconnections/signup", json=body)
    assert response.status_code == 503
    answer = response.json()
    assert answer["statusCode"] == 503 and answer["code"] == "temporarily_unavailable"
    assert_explains(answer["description"], state_dir)


def test_a_folder_made_again_meanwhile_does_not_bring_the_tenant_back(removed, state_dir):
    _, browser, _ = removed
    assert browser.get("/").status_code == 503
    state_dir.mkdir()
    (state_dir / "tenant.sqlite3").touch()
    assert browser.get("/").status_code == 503


def test_removed_in_the_middle_of_a_login_is_the_same_answer(state_dir, monkeypatch):
    """The folder goes between the guard's look and the database's: still the page, not a 500."""
    tenant = DevTenant(ISSUER, state_dir, testing=True)
    with TestClient(tenant.app, follow_redirects=False, raise_server_exceptions=False) as browser:
        page, _ = start_login(browser)
        real = tenant.users.authenticate

        def vanishing(*args):
            shutil.rmtree(state_dir)
            return real(*args)

        monkeypatch.setattr(tenant.users, "authenticate", vanishing)
        fields = form_fields(page.text)
        response = browser.post("/u/login", data={**fields, "username": "demo@example.com", "password": "x"})
    assert response.status_code == 503
    assert_explains(response.text, state_dir)
