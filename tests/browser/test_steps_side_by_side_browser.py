"""Two steps in one browser (#13 item 4): browsers share cookies across ports, so each step has its own names.

Each logs in and out alone: the other's page does not change.
"""

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
        ("03-Session-Handling/cookie_app.py", "03-Session-Handling/wrapper_app.py"),
    ],
    ids=["01+03-wrapper", "02+03-cookie", "03-cookie+03-wrapper"],
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
