"""Step 01 in a real browser: Log In, the hosted form, the nickname, Log Out.

Also takes the screenshots 01-Login/README.md shows (docs/screenshots/01-login-*.png): written when
missing, or every run with UPDATE_SCREENSHOTS=1.
"""

from urllib.parse import urlsplit

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.screenshots import save_screenshot

pytestmark = pytest.mark.browser


def test_log_in_and_out_through_the_hosted_page(page, serve_step, tenant):
    with serve_step("01-Login/app.py") as app:
        ports = {urlsplit(app).port: 3000, urlsplit(tenant.issuer).port: 4000}
        page.goto(f"{app}/")
        save_screenshot(page, "01-login-logged-out", ports)
        page.click("#btn-login")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        save_screenshot(page, "01-login-hosted-page", ports)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("#btn-logout")
        assert "Welcome demo" in page.inner_text("#welcome")
        page.wait_for_function("() => [...document.images].every((image) => image.complete)")
        save_screenshot(page, "01-login-logged-in", ports)
        page.click("#btn-logout")
        page.wait_for_selector("#btn-login")


def test_log_in_after_log_out_skips_the_form_because_the_tenant_session_lives_on(page, serve_step):
    """What 01-Login/README.md tells the reader to try: step 01's Log Out forgets the user only locally."""
    with serve_step("01-Login/app.py") as app:
        page.goto(f"{app}/")
        page.click("#btn-login")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.click("#btn-logout")
        page.click("#btn-login")
        page.wait_for_selector("#btn-logout")  # back in, with no login form on the way
        assert "Welcome demo" in page.inner_text("#welcome")
