"""Hostile input at every route of every step (Hypothesis): never a 5xx, and the app keeps answering.

In process with Starlette's TestClient for speed, its base_url the app's configured host so the
canonical-host redirect does not answer everything; the apps talk to the real dev tenant.
Derandomized with a modest example count, so a run is reproducible and quick.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.security.conftest import STEPS
from tests.support.forms import password_form
from tests.support.steps import COOKIES as STEP_COOKIES
from tests.support.steps import load_step

ROUTES = {  # (method, path) of every route each step serves, static files included
    STEPS[0]: [("GET", "/"), ("GET", "/login"), ("GET", "/callback"), ("GET", "/logout"), ("GET", "/static/style.css")],
    STEPS[1]: [
        ("GET", "/"),
        ("POST", "/login"),
        ("POST", "/signup"),
        ("GET", "/login/google"),
        ("GET", "/callback"),
        ("GET", "/logout"),
        ("GET", "/static/style.css"),
    ],
    STEPS[2]: [("GET", "/"), ("GET", "/login"), ("GET", "/callback"), ("GET", "/logout"), ("GET", "/static/style.css")],
    STEPS[3]: [("GET", "/"), ("GET", "/login"), ("GET", "/callback"), ("GET", "/logout"), ("GET", "/static/style.css")],
}
ALL_ROUTES = [(step, method, path) for step, routes in ROUTES.items() for method, path in routes]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = st.sampled_from(
    [
        "code",
        "state",
        "error",
        "error_description",
        "returnTo",
        "next",
        "email",
        "password",
        "csrf_token",
        "id_token",
        "connection",
        "session",
    ]
) | st.text(max_size=20)
VALUES = st.text(max_size=80) | st.sampled_from(
    [
        "",
        "null",
        "[]",
        "{}",
        "a" * 5000,
        "\x00",
        "%00",
        "../../etc/passwd",
        "eyJhbGciOiJub25lIn0.e30.",
        "<script>alert(1)</script>",
    ]
)
PAIRS = st.lists(st.tuples(NAMES, VALUES), max_size=6)
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=200)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "accept",
            "accept-language",
            "content-type",
            "origin",
            "referer",
            "user-agent",
            "x-forwarded-host",
            "x-forwarded-for",
            "x-forwarded-proto",
            "forwarded",
            "authorization",
            "if-none-match",
            "range",
        ]
    )
    | st.from_regex(r"\Ax-[a-z0-9-]{1,20}\Z"),
    HEADER_VALUE,
    max_size=5,
)
COOKIE_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,"\\'), max_size=300)
STEP_COOKIE_NAMES = sorted({name for c in STEP_COOKIES.values() for name in (c.signed, c.holder)})
COOKIES = st.lists(
    st.tuples(
        st.sampled_from([*STEP_COOKIE_NAMES, "csrf_token", "devtenant_session"]) | st.from_regex(r"\A[a-z_]{1,12}\Z"),
        COOKIE_VALUE,
    ),
    max_size=4,
)
BODIES = st.binary(max_size=600) | PAIRS.map(lambda pairs: urlencode(pairs).encode())


@pytest.fixture(
    scope="module",
    params=STEPS,
    ids=lambda step: step.split("/")[-1].removesuffix(".py") if "03" in step else step.split("/")[0],
)
def client(request, shared_tenant):
    settings_ = shared_tenant.settings_for(3000)
    app = load_step(request.param).create_app(settings_)
    with TestClient(app, base_url=settings_.base_url, raise_server_exceptions=False, follow_redirects=False) as client:
        client.step = request.param
        yield client


def still_answers(client: TestClient) -> None:
    client.cookies.clear()
    home = client.get("/")
    assert home.status_code == 200, home.text


def send(client: TestClient, method: str, path: str, **kwargs):
    response = client.request(method, path, **kwargs)
    assert response.status_code < 500, f"{method} {path} {kwargs} → {response.status_code}\n{response.text[:2000]}"
    return response


@FUZZ
@given(data=st.data(), query=PAIRS)
def test_arbitrary_query_strings_never_cause_a_server_error(client, data, query):
    method, path = data.draw(st.sampled_from(ROUTES[client.step]), label="route")
    send(client, method, path, params=query)
    still_answers(client)


@FUZZ
@given(data=st.data(), headers=HEADERS)
def test_arbitrary_headers_never_cause_a_server_error(client, data, headers):
    method, path = data.draw(st.sampled_from(ROUTES[client.step]), label="route")
    send(client, method, path, headers={name: value.encode("latin-1") for name, value in headers.items()})
    still_answers(client)


@FUZZ
@given(data=st.data(), cookies=COOKIES)
def test_arbitrary_cookies_never_cause_a_server_error(client, data, cookies):
    method, path = data.draw(st.sampled_from(ROUTES[client.step]), label="route")
    header = "; ".join(f"{name}={value}" for name, value in cookies)
    send(client, method, path, headers={"cookie": header} if header else None)
    still_answers(client)


@FUZZ
@given(
    data=st.data(),
    body=BODIES,
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json", "text/plain", ""]
    ),
)
def test_arbitrary_bodies_and_methods_never_cause_a_server_error(client, data, body, content_type):
    _, path = data.draw(st.sampled_from(ROUTES[client.step]), label="route")
    method = data.draw(st.sampled_from(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "GET"]), label="method")
    send(client, method, path, content=body, headers={"content-type": content_type} if content_type else None)
    still_answers(client)


@pytest.fixture(scope="module")
def step_02(shared_tenant):
    settings_ = shared_tenant.settings_for(3000)
    app = load_step(STEPS[1]).create_app(settings_)
    with TestClient(app, base_url=settings_.base_url, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@settings(FUZZ, max_examples=30)
@given(path=st.sampled_from(["/login", "/signup"]), email=VALUES, password=VALUES, extra=PAIRS)
def test_step_02_form_with_a_valid_csrf_token_and_arbitrary_fields_never_causes_a_server_error(
    step_02, path, email, password, extra
):
    """Past the CSRF check, so the fields reach the checks before the tenant (and the tenant itself)."""
    step_02.cookies.clear()
    form = password_form(step_02.get("/").text, "http://localhost:3000/")
    body = urlencode([("csrf_token", form.fields["csrf_token"]), ("email", email), ("password", password), *extra])
    response = send(
        step_02, "POST", path, content=body.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert password not in response.text or len(password) < 4 or password in email
    still_answers(step_02)
