"""The dashboard in a real browser: the "break it and fix it" lesson of docs/dashboard.md, by keyboard
and mouse, on a tenant that enforces its settings as a learner's does (not any_app_port)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.test_accessibility_browser import assert_focus_drawn, tab_to
from tests.support.axe import assert_no_violations
from tests.support.screenshots import save_screenshot

pytestmark = pytest.mark.browser


def test_remove_the_callback_url_see_the_error_read_the_log_put_it_back(browser, fresh_tenant, serve_step):
    context = browser.new_context(bypass_csp=True)  # for axe only; the CSP itself is tested elsewhere
    page = context.new_page()
    page.set_default_timeout(10_000)
    with fresh_tenant(any_app_port=False) as tenant, serve_step("01-Login/app.py", on=tenant) as app:
        callback = f"{app}/callback"  # a free port: as if the learner's app were on 3000
        ports = {urlsplit(app).port: 3000, urlsplit(tenant.issuer).port: 4000}
        dashboard = f"{tenant.issuer}dashboard"

        # Break it: Allowed Callback URLs without the app's URL.
        page.goto(dashboard)
        page.get_by_label("Allowed Callback URLs").fill("http://localhost:3001/callback")
        page.get_by_role("button", name="Save Changes").click()
        page.wait_for_selector("text=Changes saved.")

        # See the error: Auth0's words, the URL, and where to add it.
        page.goto(f"{app}/")
        page.click("#btn-login")
        page.wait_for_selector("text=Callback URL mismatch")
        assert callback in page.inner_text("main") and "Allowed Callback URLs" in page.inner_text("main")
        assert_no_violations(page, "callback mismatch page")
        save_screenshot(page, "dashboard-callback-mismatch", ports)

        # Read the log.
        page.get_by_role("link", name="See the logs").click()
        page.wait_for_selector("table")
        assert f"Callback URL mismatch. {callback} is not in the list of allowed callback URLs" in page.inner_text(
            "tbody"
        )
        assert_no_violations(page, "dashboard logs")
        save_screenshot(page, "dashboard-logs", ports)
        page.get_by_role("link", name="Failed Login").first.click()
        page.wait_for_selector("pre")
        assert '"type": "f"' in page.inner_text("pre")
        assert_no_violations(page, "dashboard log event")

        # Put it back, by keyboard this time, and log in.
        page.goto(dashboard)
        field = page.get_by_label("Allowed Callback URLs")
        field.fill(f"{callback}\nhttp://localhost:3001/callback")
        save = tab_to(page, "button[type=submit]:has-text('Save Changes')", limit=40)
        assert_focus_drawn(save)
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Changes saved.")
        assert_no_violations(page, "dashboard settings")
        page.evaluate("() => document.getElementById('uris').scrollIntoView()")  # the lesson's part of the page
        save_screenshot(page, "dashboard-settings", ports)
        page.goto(f"{app}/")
        page.click("#btn-login")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("#btn-logout")
    context.close()


def test_an_invalid_url_is_refused_on_the_page_and_focus_goes_to_the_error(browser, fresh_tenant):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    with fresh_tenant(any_app_port=False) as tenant:
        page.goto(f"{tenant.issuer}dashboard")
        page.get_by_label("Allowed Logout URLs").fill("localhost:3000")
        page.get_by_role("button", name="Save Changes").click()
        page.wait_for_selector("#error")
        assert page.evaluate("() => document.activeElement.id") == "error"
        assert "absolute-uri-or-empty: localhost:3000" in page.inner_text("#error")
        assert page.get_by_label("Allowed Logout URLs").get_attribute("aria-invalid") == "true"
        assert_no_violations(page, "dashboard, invalid URL")
        # The secret stays hidden until asked, and the keyboard can ask.
        assert not page.get_by_text(tenant.tenant.clients["tutorial-app"].client_secret).is_visible()
        summary = tab_to(page, "summary", limit=20)
        assert_focus_drawn(summary)
        page.keyboard.press("Enter")
        assert page.get_by_text(tenant.tenant.clients["tutorial-app"].client_secret).is_visible()
    context.close()
