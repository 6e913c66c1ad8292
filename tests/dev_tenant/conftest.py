"""Fixtures for the dev tenant's tests: a fresh tenant per test, cheap to build."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant, dev_client_secret

ISSUER = "http://testserver/"
CALLBACK = "http://localhost:3000/callback"


@pytest.fixture(scope="session")
def template_state(tmp_path_factory) -> Path:
    """One state dir (keys, demo user, client secret) built once; each test gets a copy.
    Generating RSA keys and hashing the demo password for every test would dominate the run."""
    path = tmp_path_factory.mktemp("template-state")
    DevTenant(ISSUER, path)
    return path


@pytest.fixture
def state_dir(tmp_path, template_state) -> Path:
    target = tmp_path / "state"
    shutil.copytree(template_state, target)
    return target


@pytest.fixture
def tenant(state_dir) -> DevTenant:
    return DevTenant(ISSUER, state_dir, testing=True)


@pytest.fixture
def client(tenant) -> TestClient:
    with TestClient(tenant.app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def secret(state_dir) -> str:
    return dev_client_secret(state_dir)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the first form on a hosted page."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def authorize_params(**overrides) -> dict:
    params = {
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def start_login(client: TestClient, **overrides):
    """GET /authorize and follow to the hosted login page; return (page response, params)."""
    params = authorize_params(**overrides)
    response = client.get("/authorize", params=params)
    assert response.status_code == 302, response.text
    page = client.get(response.headers["location"])
    return page, params


def submit_login(client: TestClient, page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD):
    fields = form_fields(page.text)
    return client.post("/u/login", data={**fields, "username": email, "password": password})


def login(client: TestClient, **overrides) -> tuple[dict, dict]:
    """A full hosted login with the demo user; return (callback query, authorize params)."""
    page, params = start_login(client, **overrides)
    response = submit_login(client, page)
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(params["redirect_uri"])
    return query(response.headers["location"]), params


def exchange(client: TestClient, code: str, secret: str, **extra):
    data = {
        "grant_type": "authorization_code",
        "client_id": DEV_CLIENT_ID,
        "client_secret": secret,
        "code": code,
        "redirect_uri": CALLBACK,
        **extra,
    }
    return client.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})
