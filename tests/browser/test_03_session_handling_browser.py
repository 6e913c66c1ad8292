"""Step 03 in a real browser, in each variant: Create Session, Check Session (reload), Logout.

Also takes the screenshots 03-Session-Handling/README.md shows (docs/screenshots/03-session-*.png):
written when missing, or every run with UPDATE_SCREENSHOTS=1.
"""

from urllib.parse import urlsplit

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.screenshots import save_screenshot

pytestmark = pytest.mark.browser


def log_in_on_the_hosted_page(page) -> None:
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize("variant", ["cookie_app.py", "wrapper_app.py"])
def test_create_check_and_end_a_session(page, serve_step, tenant, variant):
    shot = "03-session-" + variant.removesuffix("_app.py")  # 03-session-cookie-…, 03-session-wrapper-…
    with serve_step(f"03-Session-Handling/{variant}") as app:
        ports = {urlsplit(app).port: 3000, urlsplit(tenant.issuer).port: 4000}
        page.goto(f"{app}/")
        assert page.title().startswith("Session Handling")
        save_screenshot(page, f"{shot}-logged-out", ports)
        page.click("#btn-login")
        log_in_on_the_hosted_page(page)
        page.wait_for_selector("#btn-logout")
        assert "Welcome demo" in page.inner_text("#welcome")
        assert "Ends at the latest" in page.inner_text("#session-panel")

        page.reload()  # Check Session: the session survives a reload
        page.wait_for_selector("#btn-logout")
        assert "demo@example.com" in page.inner_text("#session-user")
        page.wait_for_function("() => [...document.images].every((image) => image.complete)")
        page.locator("#session-panel").scroll_into_view_if_needed()
        save_screenshot(page, f"{shot}-logged-in", ports)

        page.click("#btn-logout")  # through the tenant's logout, back to the app
        page.wait_for_selector("#btn-login")
        assert page.url.startswith(app)

        page.click("#btn-login")  # the tenant's session ended too: the hosted form, not an instant login
        page.get_by_label("Password").wait_for()
        assert not page.url.startswith(app)


@pytest.mark.parametrize("variant", ["cookie_app.py", "wrapper_app.py"])
def test_back_after_log_out_shows_the_logged_out_page(page, serve_step, variant):
    """On a shared laptop, Back must not bring the last person's name and email out of the cache."""
    with serve_step(f"03-Session-Handling/{variant}") as app:
        page.goto(f"{app}/")
        page.click("#btn-login")
        log_in_on_the_hosted_page(page)
        page.wait_for_selector("#btn-logout")
        page.click("#btn-logout")
        page.wait_for_selector("#btn-login")
        assert page.url == f"{app}/"  # exactly the app's URL, not /?

        page.go_back()  # to the history entry that showed the logged-in page
        page.wait_for_selector("#btn-login")
        assert page.url == f"{app}/"
        assert "Welcome" not in page.inner_text("main") and DEMO_EMAIL not in page.content()
