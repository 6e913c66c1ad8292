"""Auth0's error JSON, as real tenants send it, turned into words for the custom login form.

The dev tenant covers the common shapes end to end (tests/steps/test_02_custom_login.py); these are
the ones it does not produce: a tenant-wide default directory missing, an admin-blocked user,
a dictionary password, and answers that are not JSON at all.
"""

import json

import pytest

from tests.support.steps import load_step

auth0_api = load_step("02-Custom-Login/auth0_api.py")
ENABLE_PASSWORD_GRANT = auth0_api.ENABLE_PASSWORD_GRANT
SET_DEFAULT_DIRECTORY = auth0_api.SET_DEFAULT_DIRECTORY
_login_error = auth0_api._login_error
_signup_error = auth0_api._signup_error


def test_missing_default_directory_names_the_tenant_setting():
    body = {
        "error": "server_error",
        "error_description": "Authorization server not configured with default connection.",
    }
    error = _login_error(500, body)
    assert error.status == 502
    assert SET_DEFAULT_DIRECTORY in error.message
    assert "Default Directory" in SET_DEFAULT_DIRECTORY and "API Authorization Settings" in SET_DEFAULT_DIRECTORY


def test_grant_not_allowed_names_the_application_setting():
    description = "Grant type 'http://auth0.com/oauth/grant-type/password-realm' not allowed for the client."
    error = _login_error(403, {"error": "unauthorized_client", "error_description": description})
    assert error.status == 502
    assert ENABLE_PASSWORD_GRANT in error.message


@pytest.mark.parametrize("code", ["invalid_grant", "invalid_user_password"])
def test_wrong_password_in_either_generation_of_auth0_errors(code):
    error = _login_error(403, {"error": code, "error_description": "Wrong email or password."})
    assert (error.status, error.message) == (401, "Wrong email or password.")


def test_user_blocked_by_an_administrator():
    error = _login_error(401, {"error": "unauthorized", "error_description": "user is blocked"})
    assert error.status == 403 and "blocked" in error.message


def test_bad_client_secret_points_at_the_configuration():
    error = _login_error(401, {"error": "access_denied", "error_description": "Unauthorized"})
    assert error.status == 502 and "AUTH0_CLIENT_SECRET" in error.message


def test_a_tenant_error_page_that_is_not_json_is_a_502():
    error = _login_error(502, {})
    assert error.status == 502 and "HTTP 502" in error.message


def test_dictionary_password_shows_the_tenant_sentence():
    body = {
        "name": "PasswordDictionaryError",
        "message": "Password is too common",
        "code": "invalid_password",
        "description": "Password is not allowed, it might be too common.",
        "statusCode": 400,
    }
    error = _signup_error(400, body)
    assert error.status == 400
    assert "might be too common" in error.message


def test_strength_rules_are_formatted_with_their_numbers():
    body = {
        "name": "PasswordStrengthError",
        "code": "invalid_password",
        "statusCode": 400,
        "description": {
            "rules": [
                {
                    "message": "At least %d characters in length",
                    "format": [12],
                    "code": "lengthAtLeast",
                    "verified": False,
                },
                {
                    "message": "Contain at least %d of the following %d types of characters:",
                    "format": [3, 4],
                    "code": "containsAtLeast",
                    "verified": True,
                    "items": [{"message": "numbers (i.e. 0-9)", "code": "numbers", "verified": True}],
                },
            ],
            "verified": False,
        },
    }
    error = _signup_error(400, body)
    assert [(rule.text, rule.met) for rule in error.rules] == [
        ("At least 12 characters in length", False),
        ("Contain at least 3 of the following 4 types of characters:", True),
    ]
    assert error.rules[1].items[0].text == "numbers (i.e. 0-9)"


def test_policy_text_is_the_fallback_when_rules_are_missing():
    body = {
        "name": "PasswordStrengthError",
        "code": "invalid_password",
        "description": "Password is too weak",
        "policy": "* At least 10 characters in length\n* Contain at least 3 kinds",
    }
    rules = _signup_error(400, body).rules
    assert [(rule.text, rule.met) for rule in rules] == [
        ("At least 10 characters in length", None),
        ("Contain at least 3 kinds", None),
    ]


def test_existing_username_counts_as_an_existing_user():
    assert _signup_error(400, {"code": "username_exists", "description": "The username already exists."}).status == 409


def test_lock_out_shows_the_tenants_own_words_on_how_to_unblock():
    auth0 = "Your account has been blocked after multiple consecutive login attempts. We've sent you an email."
    assert _login_error(429, {"error": "too_many_attempts", "error_description": auth0}).message == auth0
    fallback = _login_error(429, {"error": "too_many_attempts"})
    assert fallback.status == 429 and "blocked" in fallback.message


@pytest.mark.parametrize(
    ("error", "fields"),
    [
        (_login_error(401, {"error": "invalid_grant"}), ("email", "password")),
        (_signup_error(400, {"code": "user_exists"}), ("email",)),
        (_login_error(403, {"error": "unauthorized_client"}), ()),
    ],
    ids=["wrong-password", "email-taken", "set-up"],
)
def test_an_error_names_the_fields_it_is_about(error, fields):
    """The form marks these aria-invalid; a set-up problem is no field's fault."""
    assert error.fields == fields


def test_an_error_comes_back_from_the_signed_cookies_json_as_it_went_in():
    """After a failed try the error waits in the signed cookie (JSON) for the form's next showing."""
    body = {
        "code": "invalid_password",
        "description": {
            "rules": [
                {"message": "At least %d characters in length", "format": [8], "verified": False},
                {
                    "message": "Contain at least %d of the following %d types of characters:",
                    "format": [3, 4],
                    "verified": False,
                    "items": [{"message": "numbers (i.e. 0-9)", "verified": True}],
                },
            ]
        },
    }
    errors = [
        _signup_error(400, body),
        _signup_error(409, {"code": "user_exists"}),
        _login_error(401, {"error": "invalid_grant"}),
    ]
    for error in errors:
        back = auth0_api.AuthApiError.from_json(json.loads(json.dumps(error.to_json())))
        assert (back.message, back.status, back.rules, back.fields) == (
            error.message,
            error.status,
            error.rules,
            error.fields,
        )


def test_an_overlong_error_is_cut_to_fit_the_signed_cookie():
    error = _login_error(400, {"error": "odd", "error_description": "ü" * 5000})
    kept = error.to_json()
    assert len(json.dumps(kept)) <= auth0_api.MAX_ERROR_JSON
    assert kept["status"] == 400 and kept["message"].startswith("The tenant refused: üü")
