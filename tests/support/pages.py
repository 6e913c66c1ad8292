"""What a person sees and does, for tests that read like users: log in as the demo user, is this page logged in?"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.forms import password_form


def shows_logged_in(html: str) -> bool:
    """The page offers Log Out: someone is logged in."""
    return 'id="btn-logout"' in html


def shows_logged_out(html: str) -> bool:
    """The page offers Log In and no Log Out: nobody is logged in."""
    return 'id="btn-login"' in html and not shows_logged_in(html)


def hosted_login(client: httpx2.Client, app_url: str, email: str, password: str) -> httpx2.Response:
    """Log in through the hosted login page the way a person would; return the app's last response."""
    page = client.get(f"{app_url}/login", follow_redirects=True)
    assert page.status_code == 200, page.text
    form = password_form(page.text, str(page.url))
    data = dict(form.fields)
    data[form.field_named(type_="email") or form.field_named(contains="email") or "username"] = email
    data[form.field_named(type_="password")] = password
    return client.post(form.action, data=data, follow_redirects=True)


def log_in_as_demo(client: httpx2.Client, app_url: str) -> httpx2.Response:
    """Log in as the dev tenant's demo user on the hosted page; the app's page must then show Log Out."""
    page = hosted_login(client, app_url, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.status_code == 200 and shows_logged_in(page.text), page.text
    return page


def log_out(client: httpx2.Client, app_url: str, **options: Any) -> httpx2.Response:
    """Press Log Out: a POST with the button's CSRF token (from GET /logout), from the app's origin."""
    page = client.get(f"{app_url}/logout")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    data = {"csrf_token": token[1] if token else ""}
    return client.post(f"{app_url}/logout", data=data, headers={"origin": app_url}, **options)


def log_out_at_the_tenant(client: httpx2.Client, tenant_origin: str) -> httpx2.Response:
    """A person visiting the tenant's logout URL: the visit names no session, so the tenant asks
    (its "Log out?" page), and the person confirms on that page."""
    page = client.get(f"{tenant_origin}/oidc/logout")
    assert page.status_code == 200 and 'action="/u/logout"' in page.text, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    return client.post(f"{tenant_origin}/u/logout", data={**fields, "action": "logout"})
