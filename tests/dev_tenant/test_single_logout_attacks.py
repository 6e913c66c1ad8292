"""Issue #31: single logout that no other web page can switch off.

Any page on another localhost port can make the victim's browser request the tenant (an <img>, a
meta refresh, a link): none of that may fill the list of apps told at logout, orphan an SSO session,
or end one silently.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, DevTenant
from shared.dev_tenant.backchannel import MAX_HOLDERS

from .conftest import CALLBACK, ISSUER, authorize_params, exchange, form_fields, login, query, start_login
from .test_backchannel_logout import log_in_at, receiving, silent_login_at
from .test_faults import parts

SESSION_COOKIE = "devtenant_session"


@pytest.fixture
def tenant(state_dir) -> DevTenant:
    """The attacker's ports and the receivers are not in the tutorial's Allowed Callback URLs, which
    would refuse them at /authorize before the defences tested here are reached (test_dashboard.py)."""
    return DevTenant(ISSUER, state_dir, testing=True, any_app_port=True)


def attackers_images(client, count: int) -> None:
    """What `count` <img src=/authorize…> tags on another port make the victim's browser ask for:
    codes sent to ports the attacker listens on, never redeemed (it has no client secret)."""
    for port in range(9000, 9000 + count):
        callback = f"http://localhost:{port}/callback"
        response = client.get("/authorize", params=authorize_params(redirect_uri=callback))
        assert response.headers["location"].startswith(callback), response.text


def test_authorize_requests_to_other_ports_cannot_crowd_out_an_app_that_logged_in(client, tenant, secret):
    login(client)  # the user logs in; the app behind CALLBACK is not listening
    attackers_images(client, MAX_HOLDERS + 1)
    with receiving() as app:
        claims = silent_login_at(client, app.callback, secret)  # a genuine app, logged in afterwards
        client.get("/oidc/logout", params={"logout_hint": claims["sid"], "client_id": DEV_CLIENT_ID})
        assert len(app.received) == 1, "the app that logged in was not told of the logout"
    told = {sent.url for sent in tenant.sent_logout_tokens}
    assert told == {f"{app.base}/backchannel-logout"}, "apps that never redeemed a code were told"


def test_an_app_is_a_holder_once_it_redeems_its_code_not_when_the_code_is_issued(client, tenant, secret):
    callback, _ = login(client)
    sid = client.cookies.get(SESSION_COOKIE)
    assert tenant.backchannel.holders(sid) == []
    assert exchange(client, callback["code"], secret).status_code == 200
    assert tenant.backchannel.holders(sid) == [(DEV_CLIENT_ID, "http://localhost:3000")]


def test_a_code_redeemed_with_a_wrong_secret_makes_no_holder(client, tenant):
    callback, _ = login(client)
    assert exchange(client, callback["code"], "not-the-secret").status_code == 401
    assert tenant.backchannel.holders(client.cookies.get(SESSION_COOKIE)) == []


def test_a_full_list_of_holders_refuses_the_next_app_instead_of_forgetting_it(client, tenant, secret):
    claims = log_in_at(client, CALLBACK, secret)
    for port in range(9000, 9000 + MAX_HOLDERS - 1):
        silent_login_at(client, f"http://localhost:{port}/callback", secret)
    assert len(tenant.backchannel.holders(claims["sid"])) == MAX_HOLDERS
    silent_login_at(client, CALLBACK, secret)  # an app already holding the session may log in again
    response = client.get("/authorize", params=authorize_params(redirect_uri="http://localhost:8999/callback"))
    code = response.headers["location"].split("code=", 1)[1].split("&", 1)[0]
    refused = exchange(client, code, secret, redirect_uri="http://localhost:8999/callback")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "access_denied"
    assert "log out" in refused.json()["error_description"]
    assert len(tenant.backchannel.holders(claims["sid"])) == MAX_HOLDERS


def google_login_at(client, redirect_uri: str, secret: str) -> dict:
    """Step 02's "Log In with Google": a second hosted login in the same browser; the id_token's claims."""
    page, _ = start_login(client, redirect_uri=redirect_uri, connection="google-oauth2")
    response = client.post("/u/google", data={**form_fields(page.text), "account": "demo"})
    code = query(response.headers["location"])["code"]
    return parts(exchange(client, code, secret, redirect_uri=redirect_uri).json()["id_token"])[1]


def test_a_second_hosted_login_in_the_same_browser_leaves_no_sso_session_behind(client, tenant, secret):
    with receiving() as first, receiving() as second:
        one = log_in_at(client, first.callback, secret)  # step 03, say
        two = google_login_at(client, second.callback, secret)  # then step 02's Google button
        assert one["sid"] != two["sid"] and one["sub"] != two["sub"]
        client.get("/oidc/logout", params={"logout_hint": two["sid"], "client_id": DEV_CLIENT_ID})
        assert not tenant.session_alive(one["sid"]), "the first SSO session outlived every logout"
        assert not tenant.session_alive(two["sid"])
        assert [parts(p["form"]["logout_token"])[1]["sid"] for p in first.received] == [one["sid"]]
        assert [parts(p["form"]["logout_token"])[1]["sid"] for p in second.received] == [two["sid"]]


# ---- logging out: at once when the request names the browser's session, else the user is asked ----

IMAGE = {"sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image"}
META_REFRESH = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
CLICKED = {**META_REFRESH, "sec-fetch-site": "same-site", "sec-fetch-user": "?1"}
APP = "http://localhost:3000"


def logged_in(client, secret) -> tuple[dict, str]:
    """A hosted login whose app redeemed its code: the id_token's claims, and the id_token."""
    callback, _ = login(client)
    id_token = exchange(client, callback["code"], secret).json()["id_token"]
    return parts(id_token)[1], id_token


def confirmation(page) -> dict:
    assert page.status_code == 200, page.text
    assert "Log out of the dev tenant?" in page.text and 'action="/u/logout"' in page.text
    return form_fields(page.text)


@pytest.mark.parametrize(
    ("path", "params", "headers"),
    [
        ("/oidc/logout", {}, {}),
        ("/oidc/logout", {"post_logout_redirect_uri": APP, "client_id": DEV_CLIENT_ID}, CLICKED),
        ("/oidc/logout", {"logout_hint": "someone-elses-sid", "client_id": DEV_CLIENT_ID}, {}),
        ("/v2/logout", {}, IMAGE),
        ("/v2/logout", {"returnTo": APP, "client_id": DEV_CLIENT_ID}, META_REFRESH),
    ],
    ids=["oidc-no-hint", "oidc-clicked-no-hint", "oidc-wrong-hint", "v2-img", "v2-meta-refresh"],
)
def test_a_logout_that_does_not_name_the_session_asks_the_user_and_ends_nothing(
    client, tenant, secret, path, params, headers
):
    claims, _ = logged_in(client, secret)
    page = client.get(path, params=params, headers=headers)
    confirmation(page)
    assert "set-cookie" not in page.headers
    assert tenant.session_alive(claims["sid"]), "a page ended the session without the user"
    assert tenant.sent_logout_tokens == []
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("how", ["logout_hint", "id_token_hint", "both"])
def test_oidc_logout_naming_the_browsers_session_logs_out_at_once(client, tenant, secret, how):
    claims, id_token = logged_in(client, secret)
    params = {"post_logout_redirect_uri": APP, "client_id": DEV_CLIENT_ID, "state": "bye"}
    if how in ("logout_hint", "both"):
        params["logout_hint"] = claims["sid"]
    if how in ("id_token_hint", "both"):
        params["id_token_hint"] = id_token
    response = client.get("/oidc/logout", params=params)
    assert response.status_code == 302 and query(response.headers["location"]) == {"state": "bye"}
    assert not tenant.session_alive(claims["sid"])


def test_an_id_token_of_another_browsers_session_is_no_proof(state_dir, secret):
    tenant = DevTenant(ISSUER, state_dir, testing=True, any_app_port=True)
    with TestClient(tenant.app, follow_redirects=False) as alice, TestClient(tenant.app, follow_redirects=False) as bob:
        a, _ = logged_in(alice, secret)
        _, bobs_token = logged_in(bob, secret)
        confirmation(alice.get("/oidc/logout", params={"id_token_hint": bobs_token}))
        assert tenant.session_alive(a["sid"])


@pytest.mark.parametrize("contradiction", ["logout_hint", "client_id"])
def test_hints_that_contradict_each_other_are_an_error_and_end_nothing(client, tenant, secret, contradiction):
    claims, id_token = logged_in(client, secret)
    params = {"id_token_hint": id_token, contradiction: "something-else"}
    response = client.get("/oidc/logout", params=params)
    assert response.status_code == 400 and "invalid_request" in response.text
    assert tenant.session_alive(claims["sid"])


def test_v2_logout_a_person_clicked_for_logs_out_at_once_as_on_auth0(client, tenant, secret):
    claims, _ = logged_in(client, secret)
    response = client.get("/v2/logout", params={"returnTo": APP, "client_id": DEV_CLIENT_ID}, headers=CLICKED)
    assert response.status_code == 302 and response.headers["location"] == APP
    assert not tenant.session_alive(claims["sid"])


def test_confirming_ends_the_session_tells_its_apps_and_returns_to_the_app(client, tenant, secret):
    with receiving() as app:
        claims = log_in_at(client, app.callback, secret)
        params = {"post_logout_redirect_uri": app.base, "client_id": DEV_CLIENT_ID, "state": "s1"}
        fields = confirmation(client.get("/oidc/logout", params=params))
        assert claims["sid"] not in str(fields), "the page shows the session id"
        own = {"origin": "null", "sec-fetch-site": "same-origin"}  # what a browser sends from a no-referrer page
        response = client.post("/u/logout", data={**fields, "action": "logout"}, headers=own)
        assert response.status_code == 302, response.text
        assert response.headers["location"] == f"{app.base}?state=s1"
        assert not tenant.session_alive(claims["sid"])
        assert [parts(p["form"]["logout_token"])[1]["sid"] for p in app.received] == [claims["sid"]]


def test_declining_ends_nothing_and_links_back_to_the_app(client, tenant, secret):
    claims, _ = logged_in(client, secret)
    fields = confirmation(client.get("/v2/logout", params={"returnTo": APP, "client_id": DEV_CLIENT_ID}, headers=IMAGE))
    response = client.post("/u/logout", data={**fields, "action": "cancel"})
    assert response.status_code == 200 and "You are still logged in" in response.text
    assert f'href="{APP}"' in response.text
    assert tenant.session_alive(claims["sid"]) and tenant.sent_logout_tokens == []


@pytest.mark.parametrize(
    ("change", "headers"),
    [
        ({}, {"origin": "http://localhost:9000"}),
        ({}, {"sec-fetch-site": "same-site"}),
        ({"csrf": ""}, {}),
        ({"csrf": "0" * 64}, {}),
    ],
    ids=["another-origin", "another-port-no-origin", "no-token", "wrong-token"],
)
def test_a_confirmation_posted_from_elsewhere_ends_nothing(client, tenant, secret, change, headers):
    claims, _ = logged_in(client, secret)
    fields = confirmation(client.get("/oidc/logout"))
    response = client.post("/u/logout", data={**fields, **change, "action": "logout"}, headers=headers)
    assert response.status_code == 403 and "This logout page has expired" in response.text
    assert tenant.session_alive(claims["sid"])


def test_a_confirmation_page_from_before_a_new_login_ends_nothing(client, tenant, secret):
    logged_in(client, secret)
    fields = confirmation(client.get("/oidc/logout"))
    page, _ = start_login(client, prompt="login")
    response = client.post(
        "/u/login", data={**form_fields(page.text), "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    new_sid = client.cookies.get(SESSION_COOKIE)
    stale = client.post("/u/logout", data={**fields, "action": "logout"})
    assert stale.status_code == 403 and tenant.session_alive(new_sid)


def test_a_browser_with_no_session_is_not_asked(client):
    response = client.get("/oidc/logout", params={"post_logout_redirect_uri": APP, "client_id": DEV_CLIENT_ID})
    assert response.status_code == 302 and response.headers["location"] == APP
