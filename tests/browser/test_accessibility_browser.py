"""WCAG 2.1 AA in a real browser: axe-core on every page a person sees, and a visible keyboard focus.

axe is injected into the page, which the apps' and the tenant's CSP (no scripts) would refuse: these
pages come from a context that bypasses CSP. The CSP itself is tested in tests/security.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID
from tests.support.axe import assert_no_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def axe_page(browser) -> Iterator[Any]:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in_on_hosted_page(page: Any, app: str) -> None:
    page.goto(f"{app}/")
    page.click("#btn-login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#btn-logout")


# ---- the dev tenant's pages ------------------------------------------------------------------------


def open_hosted_login(page: Any, app: str) -> None:
    page.goto(f"{app}/login")
    page.wait_for_selector("input[type=password]")


def wrong_password(page: Any, app: str) -> None:
    open_hosted_login(page, app)
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".error")


def open_sign_up(page: Any, app: str) -> None:
    open_hosted_login(page, app)
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_selector("input[autocomplete=new-password]")


def weak_password(page: Any, app: str) -> None:
    open_sign_up(page, app)
    page.get_by_label("Email").fill(f"weak-{secrets.token_hex(4)}@example.com")
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".error")


def google_chooser(page: Any, app: str) -> None:
    """What step 02's Log In with Google button starts; any app's callback URL will do for the page."""
    query = {
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": f"{app}/callback",
        "response_type": "code",
        "connection": "google-oauth2",
    }
    page.goto(f"{app}/login")  # the tenant's host, from the app's redirect
    page.goto(page.url.split("/u/", 1)[0] + "/authorize?" + urlencode(query))
    page.wait_for_selector("input[name=account]", state="attached")


def tenant_url(tenant: Any, path: str) -> str:
    return tenant.issuer.rstrip("/") + path


TENANT_PAGES: dict[str, Callable[[Any, str, Any], None]] = {
    "hosted login": lambda page, app, tenant: open_hosted_login(page, app),
    "hosted login, wrong password": lambda page, app, tenant: wrong_password(page, app),
    "sign-up": lambda page, app, tenant: open_sign_up(page, app),
    "sign-up, weak password": lambda page, app, tenant: weak_password(page, app),
    "Google chooser": lambda page, app, tenant: google_chooser(page, app),
    "expired login page": lambda page, app, tenant: page.goto(tenant_url(tenant, "/u/login?state=gone")),
    "bad redirect_uri": lambda page, app, tenant: page.goto(
        tenant_url(
            tenant,
            "/authorize?"
            + urlencode(
                {"client_id": DEV_CLIENT_ID, "redirect_uri": "https://attacker.example/cb", "response_type": "code"}
            ),
        )
    ),
    "home page": lambda page, app, tenant: page.goto(tenant_url(tenant, "/")),
    "dashboard": lambda page, app, tenant: page.goto(tenant_url(tenant, "/dashboard")),
    "dashboard logs": lambda page, app, tenant: page.goto(tenant_url(tenant, "/dashboard/logs")),
    "unknown log event": lambda page, app, tenant: page.goto(tenant_url(tenant, "/dashboard/logs/1")),
    "404": lambda page, app, tenant: page.goto(tenant_url(tenant, "/no-such-page")),
    "405": lambda page, app, tenant: page.goto(tenant_url(tenant, "/u/cancel")),
}


@pytest.mark.parametrize("name", TENANT_PAGES)
def test_dev_tenant_page_has_no_axe_violations(axe_page, serve_step, tenant, name):
    with serve_step("01-Login/app.py") as app:
        TENANT_PAGES[name](axe_page, app, tenant)
        assert_no_violations(axe_page, f"dev tenant: {name}")


# ---- the apps' pages ------------------------------------------------------------------------------


def step_02_wrong_password(page: Any, app: str) -> None:
    page.goto(f"{app}/")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.click("#btn-login")
    page.wait_for_selector("#error")


def step_02_weak_password(page: Any, app: str) -> None:
    """A sign-up the connection's policy refuses: the form lists its rules, marked ✓ or ✗."""
    page.goto(f"{app}/")
    page.get_by_label("Email").fill(f"weak-{secrets.token_hex(4)}@example.com")
    page.get_by_label("Password").fill("abc")
    page.click("#btn-signup")
    page.wait_for_selector("#error-rules")


def step_02_log_in(page: Any, app: str) -> None:
    page.goto(f"{app}/")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.click("#btn-login")
    page.wait_for_selector("#btn-logout")


def logout_page(log_in: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    """GET /logout while logged in: the page with the Log Out button a link elsewhere sends you to."""

    def reach(page: Any, app: str) -> None:
        log_in(page, app)
        page.goto(f"{app}/logout")
        page.wait_for_selector("#btn-logout")

    return reach


def logged_out(log_in: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    """Just after Log Out: the home page with its "You are logged out." notice."""

    def reach(page: Any, app: str) -> None:
        log_in(page, app)
        page.click("#btn-logout")
        page.wait_for_selector("#logged-out")

    return reach


def home(page: Any, app: str) -> None:
    page.goto(f"{app}/")


COOKIE, WRAPPER = "03-Session-Handling/cookie_app.py", "03-Session-Handling/wrapper_app.py"

APP_PAGES = [
    pytest.param("01-Login/app.py", home, id="01 logged out"),
    pytest.param("01-Login/app.py", log_in_on_hosted_page, id="01 logged in"),
    pytest.param("01-Login/app.py", logout_page(log_in_on_hosted_page), id="01 logout page"),
    pytest.param("01-Login/app.py", lambda page, app: page.goto(f"{app}/logout"), id="01 logout page, logged out"),
    pytest.param("01-Login/app.py", logged_out(log_in_on_hosted_page), id="01 just logged out"),
    pytest.param("02-Custom-Login/app.py", home, id="02 form"),
    pytest.param("02-Custom-Login/app.py", step_02_wrong_password, id="02 wrong password"),
    pytest.param("02-Custom-Login/app.py", step_02_weak_password, id="02 weak password"),
    pytest.param("02-Custom-Login/app.py", step_02_log_in, id="02 logged in"),
    pytest.param("02-Custom-Login/app.py", logout_page(step_02_log_in), id="02 logout page"),
    pytest.param("02-Custom-Login/app.py", logged_out(step_02_log_in), id="02 just logged out"),
    pytest.param(COOKIE, home, id="03 cookie logged out"),
    pytest.param(COOKIE, log_in_on_hosted_page, id="03 cookie logged in"),
    pytest.param(COOKIE, logout_page(log_in_on_hosted_page), id="03 cookie logout page"),
    pytest.param(COOKIE, logged_out(log_in_on_hosted_page), id="03 cookie just logged out"),
    pytest.param(WRAPPER, home, id="03 wrapper logged out"),
    pytest.param(WRAPPER, log_in_on_hosted_page, id="03 wrapper logged in"),
    pytest.param(WRAPPER, logout_page(log_in_on_hosted_page), id="03 wrapper logout page"),
    pytest.param(WRAPPER, logged_out(log_in_on_hosted_page), id="03 wrapper just logged out"),
    pytest.param("01-Login/app.py", lambda page, app: page.goto(f"{app}/no-such-page"), id="app 404"),
    pytest.param("01-Login/app.py", lambda page, app: page.goto(f"{app}/callback?code=x&state=y"), id="bad callback"),
]


@pytest.mark.parametrize(("step", "reach"), APP_PAGES)
def test_app_page_has_no_axe_violations(axe_page, serve_step, step, reach, request):
    with serve_step(step) as app:
        reach(axe_page, app)
        assert_no_violations(axe_page, f"{step}: {request.node.callspec.id}")


# ---- the keyboard: Tab reaches the main action, and its focus can be seen --------------------------

FOCUS_STYLE = """(element) => {
    const style = getComputedStyle(element);
    return {outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
            boxShadow: style.boxShadow};
}"""


def tab_to(page: Any, selector: str, limit: int = 30) -> Any:
    """Press Tab from the top of the page until `selector` has the focus; return it."""
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return target
    pytest.fail(f"{selector} was never focused after {limit} presses of Tab on {page.url}")


def assert_focus_drawn(element: Any) -> None:
    style = element.evaluate(FOCUS_STYLE)
    outlined = style["outlineStyle"] != "none" and style["outlineWidth"] >= 2
    assert outlined or style["boxShadow"] != "none", f"no visible focus indicator: {style}"


KEYBOARD = [
    pytest.param("01-Login/app.py", "/", "#btn-login", id="01 Log In"),
    pytest.param("02-Custom-Login/app.py", "/", "#email", id="02 email field"),
    pytest.param("03-Session-Handling/cookie_app.py", "/", "#btn-login", id="03 cookie Log In"),
    pytest.param("03-Session-Handling/wrapper_app.py", "/", "#btn-login", id="03 wrapper Log In"),
]


@pytest.mark.parametrize(("step", "path", "selector"), KEYBOARD)
def test_tab_reaches_the_main_action_and_shows_its_focus(page, serve_step, step, path, selector):
    with serve_step(step) as app:
        page.goto(f"{app}{path}")
        assert_focus_drawn(tab_to(page, selector))


def test_tab_reaches_the_tenants_continue_button_and_shows_its_focus(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        open_hosted_login(page, app)
        assert_focus_drawn(tab_to(page, "button[type=submit][value=default]"))


@pytest.mark.parametrize("path", ["/", "/logout"])
def test_tab_reaches_the_log_out_button_and_shows_its_focus(page, serve_step, path):
    """Log Out is a navy <button> in a form, on the home page and on GET /logout."""
    with serve_step("01-Login/app.py") as app:
        log_in_on_hosted_page(page, app)
        page.goto(f"{app}{path}")
        assert_focus_drawn(tab_to(page, "#btn-logout"))


def test_the_secondary_buttons_focus_is_drawn_too(page, serve_step):
    """The navy Sign Up button: a browser's default ring hardly shows against it."""
    with serve_step("02-Custom-Login/app.py") as app:
        page.goto(f"{app}/")
        assert_focus_drawn(tab_to(page, "#btn-signup"))


# ---- an error is announced where focus lands ------------------------------------------------------

FOCUSED = "() => document.activeElement && (document.activeElement.id || document.activeElement.tagName)"


def described_by(page: Any, selector: str) -> str:
    """The text of the elements a field's aria-describedby names, as a screen reader would add it."""
    ids = (page.get_attribute(selector, "aria-describedby") or "").split()
    assert ids, f"{selector} is described by nothing"
    return " ".join(page.inner_text(f"#{name}") for name in ids)


def test_a_wrong_password_on_the_tenant_focuses_the_error_and_marks_the_fields(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        wrong_password(page, app)
        assert page.title().startswith("Error: ")
        assert page.evaluate(FOCUSED) == "error"
        assert page.inner_text("[role=alert]") == "Wrong email or password."
        for field in ("#username", "#password"):
            assert page.get_attribute(field, "aria-invalid") == "true"
            assert "Wrong email or password." in described_by(page, field)


def test_a_weak_sign_up_password_is_described_with_its_rules_said_in_words(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        weak_password(page, app)
        assert page.title().startswith("Error: ")
        assert page.evaluate(FOCUSED) == "error"
        assert page.get_attribute("#password", "aria-invalid") == "true"
        assert page.get_attribute("#email", "aria-invalid") is None  # the email was fine
        description = described_by(page, "#password")
        assert "That password is too weak" in description and "At least 8 characters" in description
        rules = page.locator("#error-rules").text_content() or ""
        assert "not met:" in rules and "met:" in rules.replace("not met:", "")
        assert "At least 8 characters" not in page.inner_text("[role=alert]")  # the alert is the message only


def test_the_google_choosers_account_button_is_named_by_the_account(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        google_chooser(page, app)
        assert page.get_by_role("button", name=re.compile(r"^Demo Google User")).count() == 1
        assert page.get_by_role("button", name=re.compile(r"^DG")).count() == 0  # the avatar's initials


# The lines a piece of text takes on screen: the distinct tops of the boxes a Range around it gets.
LINES_OF = """selector => {
    const who = document.querySelector(selector);
    const lines = node => {
        const range = document.createRange();
        range.selectNodeContents(node);
        return new Set([...range.getClientRects()].map(box => Math.round(box.top))).size;
    };
    return [lines(who.firstChild), lines(who.querySelector('.email'))];
}"""


@pytest.mark.parametrize("width", [375, 1280])  # a phone's width, a laptop's
def test_the_google_choosers_account_button_shows_the_name_over_the_email_each_on_one_line(browser, serve_step, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        with serve_step("01-Login/app.py") as app:
            google_chooser(page, app)
            assert page.evaluate(LINES_OF, "button.account .who") == [1, 1]  # name, then email
            avatar = page.locator("button.account .avatar").bounding_box()
            assert avatar is not None and avatar["width"] == avatar["height"], avatar  # round, not squeezed
            name = page.get_by_role("button", name="Demo Google User · demo.google@example.com")
            assert name.count() == 1  # the separator is still read out
    finally:
        context.close()


def test_at_the_narrowest_width_the_google_choosers_email_wraps_inside_its_button(browser, serve_step):
    context = browser.new_context(viewport={"width": 320, "height": 800})  # WCAG 1.4.10's reflow width
    page = context.new_page()
    try:
        with serve_step("01-Login/app.py") as app:
            google_chooser(page, app)
            button = page.locator("button.account").bounding_box()
            email = page.locator("button.account .email").bounding_box()
            assert button is not None and email is not None
            assert button["x"] < email["x"] and email["x"] + email["width"] < button["x"] + button["width"]
    finally:
        context.close()


def test_an_expired_login_links_back_to_the_app_that_started_it(page, serve_step):
    """A login page posted after its transaction was used (a second tab, a double submit)."""
    with serve_step("01-Login/app.py") as app:
        open_hosted_login(page, app)
        second = page.context.new_page()
        second.goto(page.url)
        second.get_by_label("Email").fill(DEMO_EMAIL)
        second.get_by_label("Password").fill(DEMO_PASSWORD)
        second.get_by_role("button", name="Continue").click()
        second.wait_for_selector("#btn-logout")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        assert page.title().startswith("Error: This login page has expired")
        page.get_by_role("link", name="Back to the application").click()
        page.wait_for_selector("#btn-logout")
        assert page.url.rstrip("/") == app.rstrip("/")


def test_an_unknown_login_says_where_to_go_back(page, tenant):
    page.goto(tenant.issuer + "u/login?state=gone")
    assert page.title().startswith("Error: This login page has expired")
    assert "return to that application's tab or window" in page.inner_text("main")


def test_tenant_404_and_405_are_pages_for_a_browser_and_json_for_an_api_client(page, http, tenant):
    for path, status in (("no-such-page", 404), ("u/cancel", 405)):
        answer = page.goto(tenant.issuer + path)
        assert answer is not None and answer.status == status
        assert page.locator("main h1").count() == 1 and page.title()
        assert page.get_attribute("html", "lang") == "en"
        api = http.get(tenant.issuer + path, headers={"Accept": "application/json"})
        assert api.status_code == status and api.json()["statusCode"] == status
    assert "POST" in http.get(tenant.issuer + "u/cancel").headers["allow"]


# The same error semantics on the apps' own pages.


def test_the_step_02_forms_fields_carry_the_error(page, serve_step):
    with serve_step("02-Custom-Login/app.py") as app:
        step_02_wrong_password(page, app)
        assert page.title().startswith("Error: ")
        assert page.evaluate(FOCUSED) == "error"
        assert_focus_drawn(page.locator("#error"))  # a sighted keyboard user sees where focus went
        assert page.inner_text("[role=alert]") == "Wrong email or password."
        for field in ("#email", "#password"):
            assert page.get_attribute(field, "aria-invalid") == "true"
            assert "Wrong email or password." in described_by(page, field)


def test_step_02s_weak_password_is_described_with_its_rules_said_in_words(page, serve_step):
    with serve_step("02-Custom-Login/app.py") as app:
        step_02_weak_password(page, app)
        assert page.title().startswith("Error: ")
        assert page.evaluate(FOCUSED) == "error"
        assert page.get_attribute("#password", "aria-invalid") == "true"
        assert page.get_attribute("#email", "aria-invalid") is None  # a password policy says nothing of the email
        description = described_by(page, "#password")
        assert "That password is too weak" in description and "At least 8 characters" in description
        rules = page.locator("#error-rules").text_content() or ""
        assert "not met:" in rules and "met:" in rules.replace("not met:", "")
        assert "At least 8 characters" not in page.inner_text("[role=alert]")  # the alert is the message only


def test_step_02s_form_without_an_error_marks_nothing(page, serve_step):
    with serve_step("02-Custom-Login/app.py") as app:
        page.goto(f"{app}/")
        assert not page.title().startswith("Error: ")
        assert page.locator("[aria-invalid], [role=alert], [autofocus]").count() == 0


def test_an_app_error_pages_alert_is_the_message_only(page, serve_step):
    with serve_step("01-Login/app.py") as app:
        page.goto(f"{app}/callback?code=x&state=y")
        assert page.title().startswith("Error: ")
        alert = page.locator("[role=alert]")
        assert alert.count() == 1
        assert alert.locator("h1, a").count() == 0
        assert alert.inner_text() == page.inner_text(".message")


def test_the_expired_pages_way_back_is_only_ever_a_registered_callbacks_app(http, tenant):
    """The way back comes from the posted form: a forged one must not put its own link on the tenant's page."""
    for redirect_uri in ("https://attacker.example/callback", "javascript:alert(1)//localhost:3000/callback"):
        answer = http.post(
            tenant.issuer + "u/login",
            data={"state": "gone", "client_id": DEV_CLIENT_ID, "redirect_uri": redirect_uri},
        )
        assert answer.status_code == 400 and "This login page has expired" in answer.text
        assert "attacker.example" not in answer.text and "javascript:" not in answer.text
    registered = http.post(
        tenant.issuer + "u/login",
        data={"state": "gone", "client_id": DEV_CLIENT_ID, "redirect_uri": "http://localhost:3000/callback"},
    )
    assert 'href="http://localhost:3000/"' in registered.text
