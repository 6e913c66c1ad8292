"""One user per address however it is typed: NFKC, then lower case (params.normalise_email)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata

import pytest

from shared.dev_tenant import DATABASE_CONNECTION, DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant
from shared.dev_tenant.users import DB_FILE

from .conftest import ISSUER, exchange, query, start_login, submit_login
from .test_faults import parts
from .test_token_endpoint import password_grant

FULL_WIDTH_DEMO = "\uff44emo@example.com"  # "ｄemo@example.com": a full-width "d"


def test_the_full_width_spelling_is_not_the_ascii_one():
    assert FULL_WIDTH_DEMO != DEMO_EMAIL and unicodedata.normalize("NFKC", FULL_WIDTH_DEMO) == DEMO_EMAIL


def test_the_password_grant_logs_the_demo_user_in_with_the_full_width_spelling(client, tenant, secret):
    response = password_grant(client, secret, username=FULL_WIDTH_DEMO)
    assert response.status_code == 200, response.text
    claims = parts(response.json()["id_token"])[1]
    assert claims["sub"] == tenant.users.get(DATABASE_CONNECTION, DEMO_EMAIL).user_id
    assert claims["email"] == DEMO_EMAIL


def test_the_hosted_login_page_logs_the_demo_user_in_with_the_full_width_spelling(client, tenant, secret):
    page, _ = start_login(client)
    response = submit_login(client, page, email=FULL_WIDTH_DEMO, password=DEMO_PASSWORD)
    assert response.status_code == 302, response.text
    tokens = exchange(client, query(response.headers["location"])["code"], secret).json()
    assert parts(tokens["id_token"])[1]["email"] == DEMO_EMAIL


@pytest.mark.parametrize("email", [FULL_WIDTH_DEMO, "DEMO@EXAMPLE.COM", "\uff24\uff25\uff2d\uff2f@example.com"])
def test_signing_up_with_another_spelling_of_the_demo_email_is_user_exists(client, email):
    body = {"client_id": DEV_CLIENT_ID, "connection": DATABASE_CONNECTION, "email": email, "password": "Passw0rd-1"}
    response = client.post("/dbconnections/signup", json=body)
    assert response.status_code == 400 and response.json()["code"] == "user_exists", response.text


def test_a_user_stored_by_an_older_tenant_in_nfc_still_logs_in(state_dir, secret):
    """Before NFKC the tenant stored NFC: "ﬁ" (a ligature) stayed as it was. The next start respells it."""
    old_email = "\ufb01ona@example.com"  # "ﬁona@…", NFC-stable, not NFKC-stable
    DevTenant(ISSUER, state_dir).create_user("placeholder@example.com", "Passw0rd-1")
    with sqlite3.connect(state_dir / DB_FILE) as db:  # as an older tenant left it
        db.execute(
            "UPDATE users SET email = ?, profile = json_set(profile, '$.email', ?) WHERE email = ?",
            (old_email, old_email, "placeholder@example.com"),
        )
    tenant = DevTenant(ISSUER, state_dir)
    for spelling in (old_email, "fiona@example.com", "FIONA@example.com"):
        outcome, user = tenant.users.authenticate(DATABASE_CONNECTION, spelling, "Passw0rd-1")
        assert outcome == "ok" and user is not None and user.email == "fiona@example.com"
    with sqlite3.connect(state_dir / DB_FILE) as db:
        [(email, profile)] = db.execute("SELECT email, profile FROM users WHERE email LIKE 'fiona%'").fetchall()
    assert email == json.loads(profile)["email"] == "fiona@example.com"
