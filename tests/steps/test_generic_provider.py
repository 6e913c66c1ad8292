"""Every step against a provider that is not Auth0: the dev tenant with generic=True.

Its issuer has a path and no trailing slash, its id_tokens carry only `sub` (the profile is in
/userinfo), and it has no /v2/logout, no password grants and no /dbconnections/signup.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx2
import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.forms import password_form
from tests.support.pages import log_out, log_out_at_the_tenant
from tests.support.steps import COOKIES, session_data

# Each step, and the page that starts a login at the provider (step 02's form is Auth0's: see below).
STEPS = {
    "01-Login/app.py": "/login",
    "02-Custom-Login/app.py": "/login/google",
    "03-Session-Handling/cookie_app.py": "/login",
    "03-Session-Handling/wrapper_app.py": "/login",
}


def provider_login(http: httpx2.Client, app: str, login_path: str) -> httpx2.Response:
    """Start a login at the app, fill in the provider's password page, return the app's last answer."""
    page = http.get(f"{app}{login_path}", follow_redirects=True)
    assert page.status_code == 200, page.text
    assert urlsplit(str(page.url)).path == "/u/login", "the provider did not ask for the password"
    form = password_form(page.text, str(page.url))
    data = {**form.fields, form.field_named(type_="email") or "username": DEMO_EMAIL}
    data[form.field_named(type_="password") or "password"] = DEMO_PASSWORD
    return http.post(form.action, data=data, follow_redirects=True)


def stored(http: httpx2.Client, step: str) -> bool:
    cookies = COOKIES[step]
    return cookies.stored_id_token(http.cookies.get(cookies.holder)) is not None


def test_the_generic_provider_is_not_auth0_shaped(generic_tenant, http):
    issuer = generic_tenant.issuer
    assert not issuer.endswith("/") and urlsplit(issuer).path == "/realms/generic"
    document = http.get(f"{issuer}/.well-known/openid-configuration").json()
    assert document["issuer"] == issuer
    assert document["grant_types_supported"] == ["authorization_code"]
    origin = f"{urlsplit(issuer).scheme}://{urlsplit(issuer).netloc}"
    assert http.get(f"{origin}/v2/logout").status_code == 404
    assert http.post(f"{origin}/dbconnections/signup", json={}).status_code == 404


@pytest.mark.parametrize("step", list(STEPS))
def test_every_step_logs_in_shows_who_logs_out_and_asks_for_the_password_again(serve_step, generic_tenant, http, step):
    with serve_step(step, on=generic_tenant) as app:
        home = provider_login(http, app, STEPS[step])
        assert home.status_code == 200, home.text
        assert str(home.url) == f"{app}/"
        # The id_token has only `sub`: the name on the page came from /userinfo.
        assert "Welcome demo" in home.text and DEMO_EMAIL in home.text
        assert stored(http, step)
        assert "Welcome demo" in http.get(f"{app}/").text  # Check Session keeps showing who it is

        logout = log_out(http, app)
        assert logout.status_code == 303, logout.text
        if step.startswith("03-"):
            # Step 03 ends the provider's session at its end_session_endpoint.
            target = urlsplit(logout.headers["location"])
            assert f"{target.scheme}://{target.netloc}{target.path}".endswith("/oidc/logout")
        else:
            # Steps 01 and 02 log out of the app only (their lesson); the user ends the provider's
            # session at its end_session_endpoint, as step 03 will do for them.
            origin = generic_tenant.issuer.removesuffix("/realms/generic")
            assert log_out_at_the_tenant(http, origin).status_code == 200
        after = http.get(urljoin(f"{app}/", logout.headers["location"]), follow_redirects=True)
        assert after.status_code == 200, after.text
        assert "Welcome demo" not in http.get(f"{app}/").text
        assert not stored(http, step)

        again = provider_login(http, app, STEPS[step])  # asserts the password page is shown
        assert "Welcome demo" in again.text


def test_userinfo_for_another_sub_refuses_the_login_and_stores_nothing(serve_step, generic_tenant, http, caplog):
    generic_tenant.tenant.faults.update(userinfo_claims={"sub": "auth0|someone-else", "name": "Mallory"})
    with serve_step("01-Login/app.py", on=generic_tenant) as app:
        page = provider_login(http, app, "/login")
        assert page.status_code == 502, page.text
        assert "another user" in page.text and generic_tenant.issuer in page.text
        assert "Mallory" not in page.text
        assert not stored(http, "01-Login/app.py")
        assert "Mallory" not in http.get(f"{app}/").text
    assert not [record for record in caplog.records if record.exc_info]


def test_the_profile_kept_for_one_user_is_never_shown_for_another(serve_step, generic_tenant, http):
    with serve_step("03-Session-Handling/wrapper_app.py", on=generic_tenant) as app:
        provider_login(http, app, "/login")
        cookies = COOKIES["03-Session-Handling/wrapper_app.py"]
        kept = session_data(http.cookies[cookies.signed])["profile"]
        assert kept["sub"].startswith("auth0|") and kept["nickname"] == "demo"
        assert set(kept) <= {"sub", "name", "nickname", "email", "picture"}


def test_step_03_without_an_end_session_endpoint_logs_out_here_and_says_so(serve_step, fresh_tenant, http):
    with (
        fresh_tenant(generic=True, advertise_end_session=False) as own,
        serve_step("03-Session-Handling/cookie_app.py", on=own) as app,
    ):
        provider_login(http, app, "/login")
        page = log_out(http, app)
        assert page.status_code == 200, page.text
        assert "offers no logout endpoint" in page.text
        assert "/v2/logout" not in page.headers.get("location", "")
        assert not stored(http, "03-Session-Handling/cookie_app.py")
        assert "Welcome demo" not in http.get(f"{app}/").text


def _form(http: httpx2.Client, app: str) -> dict[str, str]:
    page = http.get(f"{app}/")
    form = password_form(page.text, app)
    return dict(form.fields)


@pytest.mark.parametrize("action", ["/login", "/signup"])
def test_step_02_form_says_plainly_the_provider_does_not_offer_auth0s_password_login(
    serve_step, generic_tenant, http, action
):
    with serve_step("02-Custom-Login/app.py", on=generic_tenant) as app:
        data = {**_form(http, app), "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        refused = http.post(f"{app}{action}", data=data)
        assert refused.status_code == 303  # back to the form, which shows the error once
        page = http.get(f"{app}{refused.headers['location']}")
        assert page.status_code == 501, page.text
        assert "password-realm grant" in page.text and generic_tenant.issuer in page.text
        assert not stored(http, "02-Custom-Login/app.py")
