"""Step 02 in a real browser: sign up through the app's own form, log out, log in again, then Google.

Also takes the screenshots 02-Custom-Login/README.md shows (docs/screenshots/02-custom-login-*.png):
written when missing, or every run with UPDATE_SCREENSHOTS=1.
"""

import secrets
from urllib.parse import urlsplit

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.screenshots import save_screenshot

pytestmark = pytest.mark.browser


def test_the_form_shows_the_tenants_errors_then_logs_the_demo_user_in(page, serve_step, tenant):
    with serve_step("02-Custom-Login/app.py") as app:
        ports = {urlsplit(app).port: 3000, urlsplit(tenant.issuer).port: 4000}
        page.goto(f"{app}/")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        save_screenshot(page, "02-custom-login-form", ports)

        page.get_by_label("Email").fill(f"weak-{secrets.token_hex(4)}@example.com")
        page.get_by_label("Password").fill("abc")
        page.click("#btn-signup")  # a password the connection's policy refuses: its rules, on the form
        assert "That password is too weak" in page.inner_text("#error")
        save_screenshot(page, "02-custom-login-error", ports)

        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.click("#btn-login")
        page.wait_for_selector("#btn-logout")
        assert "Welcome demo" in page.inner_text("#welcome")
        page.wait_for_function("() => [...document.images].every((image) => image.complete)")
        save_screenshot(page, "02-custom-login-logged-in", ports)


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
