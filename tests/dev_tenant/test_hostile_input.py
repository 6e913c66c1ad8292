"""Hostile input at every dev-tenant endpoint (Hypothesis): never a 5xx, and the tenant keeps answering.

As tests/security/test_hostile_input.py does for the apps: derandomized, ~40 examples per endpoint.
Values can stand in for the live client secret or a live login transaction, so that the fuzzing
reaches past client authentication and the hosted pages' CSRF check.
"""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from shared.dev_tenant import DATABASE_CONNECTION, DEMO_EMAIL, DEV_CLIENT_ID, DevTenant, dev_client_secret

from .conftest import ISSUER, authorize_params, form_fields

ROUTES = [
    ("GET", "/"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/avatars/x.svg"),
    ("GET", "/authorize"),
    ("GET", "/u/login"),
    ("POST", "/u/login"),
    ("GET", "/u/signup"),
    ("POST", "/u/signup"),
    ("GET", "/u/google"),
    ("POST", "/u/google"),
    ("POST", "/u/cancel"),
    ("POST", "/oauth/token"),
    ("GET", "/userinfo"),
    ("POST", "/userinfo"),
    ("POST", "/dbconnections/signup"),
    ("GET", "/v2/logout"),
    ("GET", "/oidc/logout"),
    ("POST", "/oidc/logout"),
    ("GET", "/dashboard"),
    ("POST", "/dashboard"),
    ("POST", "/dashboard/reset"),
    ("GET", "/dashboard/logs"),
    ("GET", "/dashboard/logs/1"),
]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SECRET, TX, CSRF = "<client secret>", "<live transaction>", "<its csrf token>"
DASHBOARD_TOKEN = "<the dashboard's form token>"
NAMES = st.sampled_from(
    [
        "client_id",
        "client_secret",
        "grant_type",
        "code",
        "code_verifier",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "prompt",
        "code_challenge",
        "code_challenge_method",
        "connection",
        "realm",
        "username",
        "email",
        "password",
        "name",
        "csrf",
        "account",
        "returnTo",
        "post_logout_redirect_uri",
        "id_token_hint",
        "csrf_token",
        "callbacks",
        "allowed_logout_urls",
        "backchannel_logout_urls",
        "grant_types",
        "enabled_connections",
        "type",
        "user",
    ]
) | st.text(max_size=12)
STRINGS = st.text(max_size=60) | st.sampled_from(
    [
        "",
        DEV_CLIENT_ID,
        SECRET,
        TX,
        CSRF,
        DASHBOARD_TOKEN,
        DEMO_EMAIL,
        DATABASE_CONNECTION,
        "password",
        "authorization_code",
        "http://auth0.com/oauth/grant-type/password-realm",
        "code",
        "http://localhost:3000/callback",
        "http://localhost:3000/callback, localhost:*/x\n#frag",
        "google-oauth2",
        "none",
        "S256",
        "\x00",
        "\ud800",
        "josé@exa\u0301mple.com",
        "a" * 3000,
        "<script>alert(1)</script>",
        "eyJhbGciOiJub25lIn0.e30.",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PAIRS = st.lists(st.tuples(NAMES, STRINGS), max_size=7)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/x-www-form-urlencoded",
        "application/json",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "text/plain",
        "application/json; charset=latin-1",
    ]
)
# A body that would pass, with a few fields replaced: reaches the checks behind client authentication.
VALID = {
    "client_id": DEV_CLIENT_ID,
    "client_secret": SECRET,
    "grant_type": "password",
    "connection": DATABASE_CONNECTION,
    "realm": DATABASE_CONNECTION,
    "username": "fuzz@example.com",
    "email": "fuzz@example.com",
    "password": "Fuzz-Passw0rd",
    "csrf_token": DASHBOARD_TOKEN,
    "callbacks": "http://localhost:3000/callback",
}
NESTED = b'{"client_id": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
BODIES = st.one_of(
    PAIRS.map(lambda pairs: ("form", pairs)),
    st.dictionaries(st.sampled_from(sorted(VALID)), JSON_VALUES, min_size=1, max_size=3).map(
        lambda changes: ("json", {**VALID, **changes})
    ),
    st.lists(st.tuples(st.sampled_from(sorted(VALID)), STRINGS), min_size=1, max_size=3).map(
        lambda changes: ("form", list({**VALID, **dict(changes)}.items()))
    ),
    st.sampled_from([("raw json", NESTED), ("raw json", b'{"email": "\\ud800"}'), ("raw", b"\xff\xfe=\xff")]),
    st.dictionaries(NAMES, JSON_VALUES, max_size=7).map(lambda obj: ("json", obj)),
    JSON_VALUES.map(lambda value: ("json", value)),
    st.binary(max_size=300).map(lambda raw: ("raw", raw)),
)
HEADERS = st.dictionaries(
    st.sampled_from(["authorization", "cookie", "accept", "origin", "x-forwarded-host", "content-length"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120)
    | st.sampled_from(["Basic dHV0b3JpYWwtYXBwOng=", "Basic !!!", "Bearer ", "Bearer x", "-1", "99999999999"]),
    max_size=3,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory, template_state):
    """One tenant for the module, its client secret, and a browser that starts logins on it."""
    state_dir = tmp_path_factory.mktemp("fuzz") / "state"
    shutil.copytree(template_state, state_dir)
    tenant = DevTenant(ISSUER, state_dir, testing=True)
    with TestClient(tenant.app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client, dev_client_secret(state_dir), tenant


def substitute(value: object, live_values: dict[str, str]) -> object:
    if isinstance(value, str):
        return live_values.get(value, value)
    if isinstance(value, list):
        return [substitute(item, live_values) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, live_values) for key, item in value.items()}
    return value


def as_query(pairs: object) -> str:
    """URL-encoded; a lone surrogate goes out as the invalid UTF-8 bytes it would be."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")  # type: ignore[arg-type]


def encode(kind: str, payload: object, content_type: str | None) -> tuple[bytes, str | None]:
    if kind == "form":
        assert isinstance(payload, list)
        return as_query(payload).encode(), content_type or "application/x-www-form-urlencoded"
    if kind == "json":
        return json.dumps(payload).encode(), "application/json"
    if kind == "raw json":
        assert isinstance(payload, bytes)
        return payload, "application/json"
    assert isinstance(payload, bytes)
    return payload, content_type


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@FUZZ
@given(query=PAIRS, body=BODIES, content_type=CONTENT_TYPES, headers=HEADERS)
def test_hostile_input_never_gets_a_5xx(live, method, path, query, body, content_type, headers):
    client, secret, tenant = live
    live_values = {SECRET: secret}
    if DASHBOARD_TOKEN in repr((query, body)):
        page = client.get("/dashboard").text
        live_values[DASHBOARD_TOKEN] = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    if TX in repr((query, body)) or CSRF in repr((query, body)):
        start = client.get("/authorize", params=authorize_params())
        fields = form_fields(client.get(start.headers["location"]).text)
        live_values.update({TX: fields["state"], CSRF: fields["csrf"]})
    query = substitute(query, live_values)
    url = f"{path}?{as_query(query)}" if query else path
    # Header values travel as Latin-1 bytes; a forged content-length would only confuse the test client.
    sent_headers = {k.encode(): v.encode("latin-1") for k, v in headers.items() if k != "content-length"}
    if method == "GET":
        response = client.get(url, headers=sent_headers)
    else:
        kind, payload = body
        raw, ctype = encode(kind, substitute(payload, live_values), content_type)
        if ctype:
            sent_headers[b"content-type"] = ctype.encode()
        response = client.post(url, content=raw, headers=sent_headers)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert client.get("/.well-known/openid-configuration").status_code == 200
    assert client.get("/dashboard").status_code == 200 and client.get("/dashboard/logs").status_code == 200
    tenant.settings.reset()  # a fuzzed save must not change what the next example meets
