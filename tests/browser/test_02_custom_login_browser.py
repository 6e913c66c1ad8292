"""Step 02 in a real browser: sign up through the app's own form, log out, log in again, then Google."""

import secrets

import pytest

pytestmark = pytest.mark.browser


def test_sign_up_log_out_log_in_again_and_log_in_with_google(page, serve_step):
    email = f"browser-{secrets.token_hex(6)}@example.com"
    password = "Br0wser-Passw0rd!"
    with serve_step("02-Custom-Login/app.py") as app:
        page.goto(f"{app}/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.click("#btn-signup")
        page.wait_for_selector("#btn-logout")
        assert f"Welcome {email.split('@')[0]}" in page.inner_text("#welcome")

        page.click("#btn-logout")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("Not-my-Passw0rd")
        page.click("#btn-login")
        assert "Wrong email or password." in page.inner_text("#error")
        assert page.get_by_label("Email").input_value() == email  # kept; the password field is empty again
        assert page.get_by_label("Password").input_value() == ""
        page.get_by_label("Password").fill(password)
        page.click("#btn-login")
        page.wait_for_selector("#btn-logout")
        assert email in page.inner_text(".profile")

        page.click("#btn-logout")
        page.click("#btn-google")
        page.get_by_role("button", name="Demo Google User").click()
        page.wait_for_selector("#btn-logout")
        assert page.url == f"{app}/"
        assert "demo.google@example.com" in page.inner_text(".profile")
