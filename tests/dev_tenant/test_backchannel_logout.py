"""OpenID Connect Back-Channel Logout 1.0, the sending side: when the tenant's SSO session ends, every app
that holds its sid gets a signed logout token POSTed to its back-channel URL.

The apps are tiny Starlette receivers on real loopback ports; the tenant runs in a TestClient or, where
timing matters, on a real port of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx2
import pytest
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID, Client, DevTenant
from shared.dev_tenant.backchannel import EVENT, LOGOUT_TOKEN_TTL, is_loopback
from shared.dev_tenant.models import SSO_TTL
from tests.support.pages import log_out
from tests.support.servers import free_port, serve

if TYPE_CHECKING:
    from tests.conftest import RunningTenant

from .conftest import ISSUER, authorize_params, exchange, login, query
from .test_faults import parts
from .test_token_endpoint import password_grant


@dataclass
class Receiver:
    """An app's back-channel endpoint: records each POST, answers `status` after `delay` seconds
    (or, while any are left, the next of `statuses`: an app restarting, then back)."""

    base: str = ""
    status: int = 200
    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)

    @property
    def callback(self) -> str:
        return f"{self.base}/callback"

    def app(self) -> Starlette:
        async def backchannel(request: Request) -> Response:
            form = await request.form()
            self.received.append(
                {
                    "path": request.url.path,
                    "content_type": request.headers.get("content-type", ""),
                    "form": dict(form),
                }
            )
            await asyncio.sleep(self.delay)
            status = self.statuses.pop(0) if self.statuses else self.status
            return Response(status_code=status, headers={"cache-control": "no-store"})

        return Starlette(
            routes=[
                Route("/backchannel-logout", backchannel, methods=["POST"]),
                Route("/fixed", backchannel, methods=["POST"]),
            ]
        )


@contextlib.contextmanager
def receiving(**options) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    with serve(receiver.app(), free_port()) as base:
        receiver.base = base
        yield receiver


@pytest.fixture
def tenant(state_dir) -> DevTenant:
    """The receivers listen on free ports, which the tutorial's settings do not list (test_dashboard.py
    checks the listed ports themselves)."""
    return DevTenant(ISSUER, state_dir, testing=True, any_app_port=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def log_in_at(client, redirect_uri: str, secret: str, client_id: str = DEV_CLIENT_ID, **extra) -> dict:
    """A full login whose code goes to `redirect_uri`; return the id_token's claims."""
    callback, _ = login(client, redirect_uri=redirect_uri, client_id=client_id, **extra)
    tokens = exchange(client, callback["code"], secret, redirect_uri=redirect_uri, client_id=client_id).json()
    return parts(tokens["id_token"])[1]


def silent_login_at(client, redirect_uri: str, secret: str) -> dict:
    """A second app joining the SSO session without a login page (prompt=none)."""
    response = client.get("/authorize", params=authorize_params(redirect_uri=redirect_uri, prompt="none"))
    code = query(response.headers["location"])["code"]
    return parts(exchange(client, code, secret, redirect_uri=redirect_uri).json()["id_token"])[1]


def published(client) -> jwk.KeySet:
    return jwk.KeySet.import_key_set(client.get("/.well-known/jwks.json").json())


def verified(client, token: str) -> tuple[dict, dict]:
    decoded = jwt.decode(token, published(client), algorithms=["RS256"])
    return dict(decoded.header), dict(decoded.claims)


def test_discovery_advertises_backchannel_logout_with_sid(client):
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize("logout", ["/v2/logout", "/oidc/logout"])
def test_logout_posts_a_valid_logout_token_to_the_app_holding_the_sid(client, tenant, secret, receiver, logout):
    id_token = log_in_at(client, receiver.callback, secret)
    before = int(time.time())
    # Naming the session (logout_hint), as step 03 does: /oidc/logout would ask the user otherwise.
    response = client.get(logout, params={"logout_hint": id_token["sid"]})
    assert response.status_code == 200 and "You are logged out" in response.text

    assert len(receiver.received) == 1
    post = receiver.received[0]
    assert post["path"] == "/backchannel-logout"
    assert post["content_type"] == "application/x-www-form-urlencoded"
    assert list(post["form"]) == ["logout_token"]
    token = post["form"]["logout_token"]
    header, claims = verified(client, token)  # signed with a key the JWKS publishes
    assert header == {"typ": "logout+jwt", "alg": "RS256", "kid": tenant.keys.current.kid}
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti", "sub", "sid", "events"}
    assert claims["iss"] == ISSUER and claims["aud"] == DEV_CLIENT_ID
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["exp"] == claims["iat"] + LOGOUT_TOKEN_TTL
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert claims["events"] == {EVENT: {}}
    assert claims["sid"] == id_token["sid"] and claims["sub"] == id_token["sub"]
    assert "nonce" not in claims and "nonce" in id_token

    assert [(s.client_id, s.url, s.sid, s.status_code, s.error) for s in tenant.sent_logout_tokens] == [
        (DEV_CLIENT_ID, f"{receiver.base}/backchannel-logout", id_token["sid"], 200, None)
    ]
    assert tenant.sent_logout_tokens[0].logout_token == token


def test_the_app_that_started_the_logout_is_told_too_and_redirect_is_unchanged(client, secret, receiver):
    id_token = log_in_at(client, receiver.callback, secret)
    response = client.get(
        "/v2/logout", params={"returnTo": receiver.base, "client_id": DEV_CLIENT_ID}, follow_redirects=False
    )
    assert response.status_code == 302 and response.headers["location"] == receiver.base
    assert [parts(p["form"]["logout_token"])[1]["sid"] for p in receiver.received] == [id_token["sid"]]


def test_two_apps_on_two_ports_each_get_their_own_token(client, tenant, secret):
    with receiving() as first, receiving() as second:
        one = log_in_at(client, first.callback, secret)
        two = silent_login_at(client, second.callback, secret)
        assert one["sid"] == two["sid"]
        assert len(tenant.backchannel.holders(one["sid"])) == 2
        client.get("/v2/logout")
        assert len(first.received) == 1 and len(second.received) == 1
    tokens = [first.received[0]["form"]["logout_token"], second.received[0]["form"]["logout_token"]]
    claims = [verified(client, token)[1] for token in tokens]
    assert {c["sid"] for c in claims} == {one["sid"]}
    assert claims[0]["jti"] != claims[1]["jti"]


def test_a_second_login_from_the_same_app_is_told_once(client, secret, receiver):
    log_in_at(client, receiver.callback, secret)
    silent_login_at(client, receiver.callback, secret)
    client.get("/v2/logout")
    assert len(receiver.received) == 1


def test_each_app_is_told_once_however_many_logouts_follow(client, secret, receiver):
    log_in_at(client, receiver.callback, secret)
    sid = client.cookies.get("devtenant_session")
    client.get("/v2/logout")
    client.cookies.set("devtenant_session", sid)  # a replayed cookie ends nothing more
    client.get("/oidc/logout")
    assert len(receiver.received) == 1


def test_only_the_session_that_ended_is_told(state_dir, secret, receiver):
    tenant = DevTenant(ISSUER, state_dir, testing=True, any_app_port=True)
    with TestClient(tenant.app, follow_redirects=False) as alice, TestClient(tenant.app, follow_redirects=False) as bob:
        a = log_in_at(alice, receiver.callback, secret)
        b = log_in_at(bob, receiver.callback, secret)
        assert a["sid"] != b["sid"]
        bob.get("/v2/logout")
    assert [parts(p["form"]["logout_token"])[1]["sid"] for p in receiver.received] == [b["sid"]]
    assert tenant.backchannel.holders(a["sid"]) == [(DEV_CLIENT_ID, receiver.base)]


def test_a_dead_app_does_not_break_logout(client, tenant, secret, receiver):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    log_in_at(client, f"{dead}/callback", secret)
    silent_login_at(client, receiver.callback, secret)
    response = client.get("/v2/logout", params={"returnTo": "http://localhost:3000", "client_id": DEV_CLIENT_ID})
    assert response.status_code == 302 and response.headers["location"] == "http://localhost:3000"
    assert "devtenant_session" in response.headers["set-cookie"]
    outcome = {s.url: (s.status_code, s.error) for s in tenant.sent_logout_tokens}
    assert outcome[f"{receiver.base}/backchannel-logout"] == (200, None)
    status, error = outcome[f"{dead}/backchannel-logout"]
    assert status is None and error == "ConnectError"
    assert len(receiver.received) == 1  # the live app still heard


def test_an_app_answering_400_is_recorded_and_logout_still_ends(client, tenant, secret):
    with receiving(status=400) as refusing:
        log_in_at(client, refusing.callback, secret)
        assert client.get("/v2/logout").status_code == 200
    assert [(s.status_code, s.error) for s in tenant.sent_logout_tokens] == [(400, "answered 400")]
    assert client.get("/authorize", params=authorize_params()).headers["location"].startswith("/u/login")


@contextlib.contextmanager
def tenant_on_a_port(state_dir) -> Iterator[tuple[DevTenant, httpx2.Client]]:
    """The tenant on a real port (a TestClient would finish any background work before it returns), with
    a browser for it."""
    port = free_port()
    tenant = DevTenant(f"http://127.0.0.1:{port}/", state_dir, testing=True, any_app_port=True)
    with serve(tenant.app, port) as base, httpx2.Client(base_url=base, follow_redirects=False, timeout=10) as browser:
        yield tenant, browser


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def test_the_token_has_arrived_before_the_browser_gets_its_logout_redirect(state_dir):
    """The app the browser goes back to must already have ended its session: send first, then answer."""
    with receiving(delay=0.3) as app, tenant_on_a_port(state_dir) as (tenant, browser):
        secret = tenant.clients[DEV_CLIENT_ID].client_secret
        log_in_at(browser, app.callback, secret)
        response = browser.get("/v2/logout", params={"returnTo": app.base, "client_id": DEV_CLIENT_ID})
        answered_already = [(s.status_code, s.error) for s in tenant.sent_logout_tokens]
        assert response.status_code == 302 and response.headers["location"] == app.base
        assert len(app.received) == 1
        assert answered_already == [(200, None)]  # the app had answered before the redirect was sent


def test_a_slow_app_holds_up_the_logout_redirect_no_longer_than_the_budget(state_dir):
    with receiving(delay=3.0) as slow, tenant_on_a_port(state_dir) as (tenant, browser):
        tenant.backchannel.timeout = 1.5
        tenant.backchannel.budget = 0.2
        tenant.backchannel.retry_delays = ()
        secret = tenant.clients[DEV_CLIENT_ID].client_secret
        log_in_at(browser, slow.callback, secret)
        response = browser.get("/v2/logout", params={"returnTo": slow.base, "client_id": DEV_CLIENT_ID})
        unanswered = list(tenant.sent_logout_tokens)
        assert response.status_code == 302 and response.headers["location"] == slow.base
        assert unanswered == []  # the browser had its redirect while the app still kept the tenant waiting
        wait_for(lambda: tenant.sent_logout_tokens)
    assert [(s.status_code, s.error) for s in tenant.sent_logout_tokens] == [(None, "no answer within 1.5 s")]
    assert len(slow.received) == 1


def test_an_app_answering_503_twice_gets_the_same_token_a_third_time(client, tenant, secret):
    tenant.backchannel.retry_delays = (0.05, 0.1, 0.2)
    with receiving(statuses=[503, 503]) as restarting:
        log_in_at(client, restarting.callback, secret)
        assert client.get("/v2/logout").status_code == 200
        wait_for(lambda: len(restarting.received) >= 3)
        time.sleep(0.3)  # past the last retry delay: nothing more comes after the 200
    tokens = [post["form"]["logout_token"] for post in restarting.received]
    assert len(tokens) == 3 and len(set(tokens)) == 1
    assert len({verified(client, token)[1]["jti"] for token in tokens}) == 1
    assert [(s.attempt, s.status_code) for s in tenant.sent_logout_tokens] == [(1, 503), (2, 503), (3, 200)]


def test_an_app_that_cannot_be_reached_is_tried_again(client, tenant, secret):
    tenant.backchannel.retry_delays = (0.05, 0.05)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    log_in_at(client, f"{dead}/callback", secret)
    client.get("/v2/logout")
    wait_for(lambda: len(tenant.sent_logout_tokens) == 3)
    assert [(s.attempt, s.error) for s in tenant.sent_logout_tokens] == [(n, "ConnectError") for n in (1, 2, 3)]
    assert len({s.logout_token for s in tenant.sent_logout_tokens}) == 1


def test_a_4xx_is_final_and_not_tried_again(client, tenant, secret):
    tenant.backchannel.retry_delays = (0.05, 0.05, 0.05)
    with receiving(status=400) as refusing:
        log_in_at(client, refusing.callback, secret)
        client.get("/v2/logout")
        time.sleep(0.4)  # well past every retry delay
    assert len(refusing.received) == 1
    assert [(s.attempt, s.status_code) for s in tenant.sent_logout_tokens] == [(1, 400)]


def test_retries_stop_while_the_token_is_still_young(client, tenant, secret):
    """An app gone for long is not sent a token it would refuse as too old: the tenant's clock moves on
    past the retry window between two tries, and the retries stop."""
    tenant.backchannel.retry_delays = (0.05, 0.05, 0.05)
    with receiving(status=503) as down:
        log_in_at(client, down.callback, secret)
        real = tenant.clock
        client.get("/v2/logout")
        tenant.clock = lambda: real() + LOGOUT_TOKEN_TTL  # as if the first try had taken two minutes
        time.sleep(0.4)
    assert len(down.received) == 1


def test_a_client_without_a_backchannel_url_gets_nothing(client, tenant, receiver):
    tenant.register_client(Client("plain-app", "plain-secret", [receiver.callback], [receiver.base]))
    log_in_at(client, receiver.callback, "plain-secret", client_id="plain-app")
    client.get("/v2/logout")
    assert receiver.received == [] and tenant.sent_logout_tokens == []


def test_a_client_with_a_fixed_backchannel_url_is_posted_there(client, tenant, receiver):
    tenant.register_client(
        Client(
            "fixed-app",
            "fixed-secret",
            [receiver.callback],
            [receiver.base],
            backchannel_logout_uri=f"{receiver.base}/fixed",
        )
    )
    log_in_at(client, receiver.callback, "fixed-secret", client_id="fixed-app")
    client.get("/v2/logout")
    assert [p["path"] for p in receiver.received] == ["/fixed"]
    assert verified(client, receiver.received[0]["form"]["logout_token"])[1]["aud"] == "fixed-app"


def test_only_loopback_urls_are_ever_posted_to(client, tenant, receiver):
    tenant.register_client(
        Client(
            "remote-app",
            "remote-secret",
            [receiver.callback],
            [receiver.base],
            backchannel_logout_uri="http://example.com/backchannel-logout",
        )
    )
    log_in_at(client, receiver.callback, "remote-secret", client_id="remote-app")
    client.get("/v2/logout")
    assert receiver.received == []
    [sent] = tenant.sent_logout_tokens
    assert sent.status_code is None and sent.error.startswith("not sent")


@pytest.mark.parametrize(
    "url, loopback",
    [
        ("http://localhost:3000/backchannel-logout", True),
        ("http://127.0.0.1:3001/backchannel-logout", True),
        ("http://127.8.9.10:3001/x", True),
        ("http://[::1]:3000/backchannel-logout", True),
        ("https://localhost/backchannel-logout", True),
        ("http://localhost.example.com/", False),
        ("http://user:pw@localhost:3000/", False),
        ("http://10.0.0.1:3000/", False),
        ("http://example.com/", False),
        ("ftp://localhost/", False),
        ("http://localhost:99999/", False),
    ],
)
def test_is_loopback(url, loopback):
    assert is_loopback(url) is loopback


def test_password_grant_logins_hold_no_session_to_end(client, tenant, secret, receiver):
    """Step 02's password grant starts no SSO session: its sid names nothing a logout ends."""
    token = password_grant(client, secret).json()["id_token"]
    sid = parts(token)[1]["sid"]
    assert tenant.backchannel.holders(sid) == []
    assert asyncio.run(tenant.end_sso_session(sid)) == []


def test_an_expired_session_is_announced_once_when_next_used(client, tenant, secret, receiver):
    """Auth0's "session expired" initiator: the tenant finds the session expired (here: the browser comes
    back), tells its apps, and forgets who held it."""
    id_token = log_in_at(client, receiver.callback, secret)
    real = tenant.clock
    tenant.clock = lambda: real() + SSO_TTL + 1
    assert client.get("/authorize", params=authorize_params()).headers["location"].startswith("/u/login")
    wait_for(lambda: receiver.received)
    claims = verified(client, receiver.received[0]["form"]["logout_token"])[1]
    assert claims["sid"] == id_token["sid"] and claims["sub"] == id_token["sub"]
    assert claims["iat"] >= int(real()) + SSO_TTL  # signed when the expiry was found
    assert tenant.backchannel.holders(id_token["sid"]) == []
    client.get("/v2/logout")  # the same cookie again: nothing more to tell
    client.get("/authorize", params=authorize_params(prompt="none"))
    time.sleep(0.1)
    assert len(receiver.received) == 1


def test_the_sweep_announces_an_expired_session_nobody_comes_back_to(state_dir, receiver):
    port = free_port()
    tenant = DevTenant(f"http://127.0.0.1:{port}/", state_dir, testing=True, sweep_every=0.05, any_app_port=True)
    secret = tenant.clients[DEV_CLIENT_ID].client_secret
    with serve(tenant.app, port) as base, httpx2.Client(base_url=base, follow_redirects=False) as browser:
        id_token = log_in_at(browser, receiver.callback, secret)
        time.sleep(0.2)  # sweeps come and go: the session is alive, nothing is sent
        assert receiver.received == []
        real = tenant.clock
        tenant.clock = lambda: real() + SSO_TTL + 1  # three days on, and no browser comes back
        wait_for(lambda: receiver.received)
        time.sleep(0.2)  # more sweeps: still told once
        [post] = receiver.received
        assert verified(browser, post["form"]["logout_token"])[1]["sid"] == id_token["sid"]
    assert [(s.sid, s.status_code) for s in tenant.sent_logout_tokens] == [(id_token["sid"], 200)]


def test_end_sso_session_sends_now_and_returns_what_was_sent(client, tenant, secret, receiver):
    id_token = log_in_at(client, receiver.callback, secret)
    [sent] = asyncio.run(tenant.end_sso_session(id_token["sid"]))
    assert sent.status_code == 200 and len(receiver.received) == 1
    assert verified(client, sent.logout_token)[1]["sid"] == id_token["sid"]
    # The session is over: the next /authorize shows the login page.
    assert client.get("/authorize", params=authorize_params()).headers["location"].startswith("/u/login")


# ---- test-only hooks: the defects an app's /backchannel-logout must refuse ---------------------------


def sent_token(client, tenant, secret, receiver) -> str:
    log_in_at(client, receiver.callback, secret)
    client.get("/v2/logout")
    return receiver.received[-1]["form"]["logout_token"]


def test_fault_bad_signature(client, tenant, secret, receiver):
    tenant.faults.update(logout_token_signing="bad_signature")
    with pytest.raises(BadSignatureError):
        verified(client, sent_token(client, tenant, secret, receiver))


@pytest.mark.parametrize(
    "faults, check",
    [
        ({"logout_token_remove": ["events"]}, lambda h, c: "events" not in c and "sid" in c),
        ({"logout_token_claims": {"nonce": "n-123"}}, lambda h, c: c["nonce"] == "n-123"),
        ({"logout_token_claims": {"aud": "someone-else"}}, lambda h, c: c["aud"] == "someone-else"),
        ({"logout_token_claims": {"events": {}}}, lambda h, c: c["events"] == {}),
        ({"logout_token_claims": {"iat": 1, "exp": 2}}, lambda h, c: c["exp"] == 2),
        ({"logout_token_remove": ["sid", "sub"]}, lambda h, c: "sid" not in c and "sub" not in c),
        ({"logout_token_typ": "JWT"}, lambda h, c: h["typ"] == "JWT"),
        ({"logout_token_typ": ""}, lambda h, c: "typ" not in h),
    ],
)
def test_faults_bend_the_logout_token_and_leave_it_validly_signed(client, tenant, secret, receiver, faults, check):
    assert client.post("/test/faults", json=faults).json() == {"ok": True}  # the HTTP API, as an app test uses
    header, claims = verified(client, sent_token(client, tenant, secret, receiver))
    assert check(header, claims)


@pytest.mark.parametrize("mode", ["none", "hs256_client_secret", "foreign_key", "no_kid"])
def test_logout_token_signing_modes_keep_the_logout_typ(client, tenant, secret, receiver, mode):
    tenant.faults.update(logout_token_signing=mode)
    header, _, _ = parts(sent_token(client, tenant, secret, receiver))
    assert header["typ"] == "logout+jwt"
    assert ("kid" in header) is (mode == "foreign_key")


def test_logout_token_faults_leave_id_tokens_alone_and_reset(client, tenant, secret, receiver):
    tenant.faults.update(logout_token_claims={"nonce": "x"}, logout_token_signing="bad_signature")
    id_token = log_in_at(client, receiver.callback, secret)
    assert id_token["nonce"] != "x"
    client.get("/v2/logout")
    with pytest.raises(BadSignatureError):
        verified(client, receiver.received[-1]["form"]["logout_token"])
    client.delete("/test/faults")
    assert "nonce" not in verified(client, sent_token(client, tenant, secret, receiver))[1]


@pytest.mark.parametrize(
    "faults",
    [
        {"logout_token_signing": "nope"},
        {"logout_token_claims": ["nonce"]},
        {"logout_token_remove": "events"},
        {"logout_token_typ": 1},
    ],
)
def test_bad_logout_token_faults_are_refused(client, faults):
    response = client.post("/test/faults", json=faults)
    assert response.status_code == 400 and next(iter(faults)) in response.json()["error_description"]


def test_sent_logout_tokens_over_http(client, tenant, secret, receiver):
    token = sent_token(client, tenant, secret, receiver)
    [record] = client.get("/test/logout-tokens").json()["sent"]
    assert record == {
        "client_id": DEV_CLIENT_ID,
        "url": f"{receiver.base}/backchannel-logout",
        "sid": parts(token)[1]["sid"],
        "logout_token": token,
        "status_code": 200,
        "error": None,
        "attempt": 1,
    }
    assert client.delete("/test/logout-tokens").json() == {"ok": True}
    assert client.get("/test/logout-tokens").json() == {"sent": []} and tenant.sent_logout_tokens == []


def test_outside_tests_nothing_is_recorded_and_no_hooks_exist(state_dir, secret, receiver):
    tenant = DevTenant(ISSUER, state_dir, any_app_port=True)
    assert tenant.sent_logout_tokens is None
    with TestClient(tenant.app, follow_redirects=False) as client:
        assert client.get("/test/logout-tokens").status_code == 404
        log_in_at(client, receiver.callback, secret)
        client.get("/v2/logout")
    # ...and the real thing still happens.
    [post] = receiver.received
    assert verified(TestClient(tenant.app), post["form"]["logout_token"])[1]["sub"].startswith("auth0|")


# ---- the issue's offline demonstration, with step 03's real apps -------------------------------------


@contextlib.contextmanager
def both_step_03_variants(state_dir) -> Iterator[tuple[RunningTenant, httpx2.Client, dict[str, str]]]:
    """A tenant, one browser, and step 03's two variants served against it: (tenant, browser, urls)."""
    from tests.conftest import running_tenant
    from tests.support.steps import load_step

    with running_tenant(state_dir) as tenant, httpx2.Client(timeout=10) as browser:
        with contextlib.ExitStack() as apps:
            steps = {}
            for name in ("cookie_app", "wrapper_app"):
                port = free_port()
                app = load_step(f"03-Session-Handling/{name}.py").create_app(tenant.settings_for(port))
                steps[name] = apps.enter_context(serve(app, port)).replace("127.0.0.1", "localhost")
            yield tenant, browser, steps


def test_log_out_of_one_step_03_variant_and_the_others_next_page_is_logged_out(state_dir):
    """Cookie variant and wrapper side by side, one browser logged in to both: Log Out of one, and the
    tenant's logout token ends the other's session too (its /backchannel-logout)."""
    from tests.conftest import hosted_login

    with both_step_03_variants(state_dir) as (tenant, browser, steps):
        first = hosted_login(browser, steps["cookie_app"], DEMO_EMAIL, DEMO_PASSWORD)
        second = browser.get(f"{steps['wrapper_app']}/login", follow_redirects=True)  # single sign-on
        assert 'id="btn-logout"' in first.text and 'id="btn-logout"' in second.text, second.text
        assert tenant.tenant.sent_logout_tokens == []

        log_out(browser, steps["cookie_app"], follow_redirects=True)  # Log Out of the cookie variant
        # The tenant sends once the browser has its answer: a person clicking over is slower than this.
        deadline = time.monotonic() + 5
        while len(tenant.tenant.sent_logout_tokens) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        sent = {s.url: s.status_code for s in tenant.tenant.sent_logout_tokens}
        assert sent == {f"{url}/backchannel-logout": 200 for url in steps.values()}
        assert 'id="btn-login"' in browser.get(f"{steps['wrapper_app']}/").text  # the other's next page


def test_a_login_answered_before_a_logout_cannot_finish_after_it(state_dir):
    """Issue #20's escape: a second tab's Log In gets a code from the tenant session, Log Out of the
    first app ends that session, then the second tab's callback arrives. It must not log in."""
    from tests.conftest import hosted_login

    with both_step_03_variants(state_dir) as (_tenant, browser, steps):
        hosted_login(browser, steps["cookie_app"], DEMO_EMAIL, DEMO_PASSWORD)
        to_tenant = browser.get(f"{steps['wrapper_app']}/login")  # the second tab's Log In ...
        to_callback = browser.get(to_tenant.headers["location"])  # ... answered from the tenant session
        assert to_callback.status_code in (302, 303) and "code=" in to_callback.headers["location"]

        log_out(browser, steps["cookie_app"], follow_redirects=True)
        late = browser.get(to_callback.headers["location"], follow_redirects=True)
        assert late.status_code == 400, late.text
        assert 'id="btn-logout"' not in browser.get(f"{steps['wrapper_app']}/").text
