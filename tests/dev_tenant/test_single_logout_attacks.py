"""Issue #31: single logout that no other web page can switch off.

Any page on another localhost port can make the victim's browser request the tenant (an <img>, a
meta refresh, a link): none of that may fill the list of apps told at logout, orphan an SSO session,
or end one silently.
"""

from __future__ import annotations

from shared.dev_tenant import DEV_CLIENT_ID
from shared.dev_tenant.backchannel import MAX_HOLDERS

from .conftest import CALLBACK, authorize_params, exchange, form_fields, login, query, start_login
from .test_backchannel_logout import log_in_at, receiving, silent_login_at
from .test_faults import parts

SESSION_COOKIE = "devtenant_session"


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
