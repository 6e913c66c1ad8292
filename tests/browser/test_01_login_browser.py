"""Step 01 in a real browser: Log In, the hosted form, the nickname, Log Out."""

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_log_in_and_out_through_the_hosted_page(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        page.goto(f"{app}/")
        page.click("#btn-login")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("#btn-logout")
        assert "Welcome demo" in page.inner_text("#welcome")
        page.click("#btn-logout")
        page.wait_for_selector("#btn-login")
