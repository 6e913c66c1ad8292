"""Steps side by side share one dev tenant, and stopping the one that started it breaks none of them."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import hosted_login

TAKES_OVER = "this step runs it now"


def logs_in(app_url: str) -> httpx2.Response:
    """A fresh browser logs in with the demo user through the hosted login page."""
    with httpx2.Client(timeout=10) as browser:
        return hosted_login(browser, app_url, DEMO_EMAIL, DEMO_PASSWORD)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_second_step_can_log_in_after_the_step_that_started_the_tenant_stops(start_step):
    first = start_step("01-Login/app.py")
    second = start_step("03-Session-Handling/cookie_app.py")
    assert "Dev tenant (local stand-in for Auth0) is running" in first.console
    assert "Reusing the dev tenant already running" in second.console

    first.stop()
    console = second.wait_for_console(TAKES_OVER, timeout=10)
    assert "demo user: demo@example.com" in console.split(TAKES_OVER)[1]

    page = logs_in(second.url)
    assert page.status_code == 200, page.text
    assert str(page.url) == f"{second.url}/"
    assert 'id="btn-logout"' in page.text
    assert "Traceback" not in second.console


def test_two_steps_left_without_a_tenant_share_the_one_that_takes_over(start_step):
    first = start_step("03-Session-Handling/cookie_app.py")
    left = [start_step("01-Login/app.py"), start_step("03-Session-Handling/wrapper_app.py")]

    first.stop()
    # Both try to claim the tenant's port once a second: the kernel lets exactly one of them have it.
    assert wait_until(lambda: any(TAKES_OVER in step.console for step in left), timeout=10)
    assert not wait_until(lambda: all(TAKES_OVER in step.console for step in left), timeout=2.5)

    for step in left:
        page = logs_in(step.url)
        assert page.status_code == 200, page.text
        assert 'id="btn-logout"' in page.text
