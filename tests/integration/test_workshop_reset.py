"""Between two groups of a workshop: stop the steps, delete the dev tenant's folder, start again."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx2

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import hosted_login


def test_after_a_reset_the_last_groups_browser_is_logged_out_and_the_demo_user_works(start_step, step_env):
    with httpx2.Client(timeout=10) as browser:
        first_group = start_step("01-Login/app.py")
        assert 'id="btn-logout"' in hosted_login(browser, first_group.url, DEMO_EMAIL, DEMO_PASSWORD).text
        assert "step01_id_token" in browser.cookies
        first_group.stop()

        shutil.rmtree(step_env["DEV_TENANT_STATE_DIR"])  # what the README's `rm -rf .dev-tenant` does

        # Browsers ignore ports for cookies: the old id_token and the tenant's SSO cookie come along.
        next_group = start_step("01-Login/app.py")
        assert Path(step_env["DEV_TENANT_STATE_DIR"], "tenant.sqlite3").exists()
        home = browser.get(f"{next_group.url}/")
        assert 'id="btn-login"' in home.text, home.text
        assert "step01_id_token" not in browser.cookies, "the old token's cookie should have been deleted"

        login_page = browser.get(f"{next_group.url}/login", follow_redirects=True)
        assert 'type="password"' in login_page.text, "the tenant should ask for the password again"
        page = hosted_login(browser, next_group.url, DEMO_EMAIL, DEMO_PASSWORD)
        assert 'id="btn-logout"' in page.text, page.text
