"""Two steps in one browser (#13 item 4): browsers share cookies across ports, so each step has its own names.

Each logs in and out alone: the other's page does not change — except where single logout is the
lesson: two step-03 apps share the tenant's session, and logging out of one ends it in the other.
"""

import time

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, app: str, step: str) -> None:
    page.goto(f"{app}/")
    if step.startswith("02"):  # the app's own form
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.click("#btn-login")
    else:
        page.click("#btn-login")
        if not page.url.startswith(app):  # the hosted form, unless the tenant's session signs in at once
            page.get_by_label("Email").fill(DEMO_EMAIL)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#btn-logout")


def logged_in(page, app: str) -> bool:
    page.goto(f"{app}/")
    return page.locator("#btn-logout").count() == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("01-Login/app.py", "03-Session-Handling/wrapper_app.py"),
        ("02-Custom-Login/app.py", "03-Session-Handling/cookie_app.py"),
    ],
    ids=["01+03-wrapper", "02+03-cookie"],
)
def test_two_steps_side_by_side_each_log_in_and_out_alone(browser, serve_step, first, second):
    context = browser.new_context()
    one, two = context.new_page(), context.new_page()  # two tabs, one cookie jar
    try:
        with serve_step(first) as app_one, serve_step(second) as app_two:
            log_in(one, app_one, first)
            assert not logged_in(two, app_two)
            log_in(two, app_two, second)
            assert logged_in(one, app_one)

            one.click("#btn-logout")
            one.wait_for_selector("#btn-login")
            assert logged_in(two, app_two), "logging out of one step logged the other out"
            assert not logged_in(one, app_one)

            log_in(one, app_one, first)
            two.click("#btn-logout")
            two.wait_for_selector("#btn-login")
            assert not logged_in(two, app_two)
            assert logged_in(one, app_one), "logging out of one step logged the other out"
    finally:
        context.close()


def test_single_logout_across_the_two_step_03_variants(browser, serve_step):
    """The issue's offline demonstration: log in to both variants, Log Out of one, the other's next page is logged out."""
    context = browser.new_context()
    cookie_tab, wrapper_tab = context.new_page(), context.new_page()  # two tabs, one cookie jar
    try:
        with (
            serve_step("03-Session-Handling/cookie_app.py") as cookie_app,
            serve_step("03-Session-Handling/wrapper_app.py") as wrapper_app,
        ):
            log_in(cookie_tab, cookie_app, "03")
            assert not logged_in(wrapper_tab, wrapper_app)  # no cookie of the other's is read
            log_in(wrapper_tab, wrapper_app, "03")  # the tenant's session: no form this time
            assert logged_in(cookie_tab, cookie_app)

            cookie_tab.click("#btn-logout")
            cookie_tab.wait_for_selector("#btn-login")
            # The tenant POSTs the logout token right after it answers the browser: give it a moment.
            deadline = time.monotonic() + 5
            while logged_in(wrapper_tab, wrapper_app) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not logged_in(wrapper_tab, wrapper_app), (
                "the tenant's back-channel logout did not reach the other app"
            )
            assert "Your session" in wrapper_tab.inner_text("#session-panel")
    finally:
        context.close()
