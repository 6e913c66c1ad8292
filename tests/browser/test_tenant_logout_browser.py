"""The tenant's logout in a real browser (issue #31): another page on localhost cannot end the session
(an <img>, a meta refresh), step 03's own Log Out still ends it at once, and a second login in the same
browser leaves no SSO session behind that its Log Out could not end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.browser


@contextmanager
def attackers_site(tenant: str, app: str) -> Iterator[str]:
    """A page on another localhost port: images of the tenant's logout URLs, and a meta refresh to one."""
    query = f"client_id={DEV_CLIENT_ID}"

    async def images(_request) -> HTMLResponse:
        return HTMLResponse(
            f'<img src="{tenant}v2/logout"><img src="{tenant}v2/logout?returnTo={app}&{query}">'
            f'<img src="{tenant}oidc/logout?post_logout_redirect_uri={app}&{query}">'
        )

    async def refresh(_request) -> HTMLResponse:
        return HTMLResponse(f'<meta http-equiv="refresh" content="0;url={tenant}v2/logout?returnTo={app}&{query}">')

    site = Starlette(routes=[Route("/", images), Route("/refresh", refresh)])
    with serve(site, free_port()) as base:
        yield base


def log_in(page, app: str) -> None:
    page.goto(f"{app}/")
    page.click("#btn-login")
    if not page.url.startswith(app):
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#btn-logout")


def logged_in(page, app: str) -> bool:
    page.goto(f"{app}/")
    return page.locator("#btn-logout").count() == 1


def test_another_page_cannot_end_the_session_and_log_out_still_ends_it_at_once(page, serve_step, tenant):
    with serve_step("03-Session-Handling/cookie_app.py") as app, attackers_site(tenant.issuer, app) as evil:
        log_in(page, app)
        page.goto(f"{evil}/")
        page.wait_for_function("() => [...document.images].every((image) => image.complete)")
        page.goto(f"{evil}/refresh")
        page.get_by_role("heading", name="Log out of the dev tenant?").wait_for()
        assert logged_in(page, app), "another page's logout request ended the session"

        page.click("#btn-logout")  # the step's own Log Out: no question asked
        page.wait_for_selector("#btn-login")
        assert page.url.startswith(app)
        page.click("#btn-login")
        page.get_by_label("Password").wait_for()  # the tenant's session ended too


def test_asked_to_confirm_the_user_can_log_out_on_the_tenants_page(page, serve_step, tenant):
    with serve_step("03-Session-Handling/wrapper_app.py") as app, attackers_site(tenant.issuer, app) as evil:
        log_in(page, app)
        page.goto(f"{evil}/refresh")
        page.get_by_role("button", name="Log out").click()  # the tenant's own form, posted from its page
        page.wait_for_url(f"{app}/")
        assert not logged_in(page, app), "the confirmed logout did not reach the app"


def test_a_google_login_in_step_02_leaves_no_sso_session_step_03s_log_out_cannot_end(browser, serve_step):
    context = browser.new_context()
    three, two = context.new_page(), context.new_page()  # two tabs, one cookie jar
    try:
        with (
            serve_step("03-Session-Handling/cookie_app.py") as app_three,
            serve_step("02-Custom-Login/app.py") as app_two,
        ):
            log_in(three, app_three)
            two.goto(f"{app_two}/")
            two.click("#btn-google")
            two.get_by_role("button", name="Demo Google User").click()
            two.wait_for_selector("#btn-logout")
            # The first SSO session ended when the second replaced it, and step 03 was told.
            assert not logged_in(three, app_three)
            log_in(three, app_three)  # the tenant's session now is the Google one: no form
            assert "demo.google@example.com" in three.inner_text("#session-user")
            three.click("#btn-logout")
            three.wait_for_selector("#btn-login")
            three.click("#btn-login")
            three.get_by_label("Password").wait_for()  # no SSO session is left in this browser
    finally:
        context.close()
