"""Two answers the apps gave in the wrong shape (issue #31): `HEAD /logout` is a GET without its body,
not a refused post; and the back-channel endpoint, which a server calls, answers a body it cannot read
with Back-Channel Logout 1.0 §2.8's JSON 400, not a page."""

from __future__ import annotations

import httpx2
import pytest

STEPS = [
    "01-Login/app.py",
    "02-Custom-Login/app.py",
    "03-Session-Handling/cookie_app.py",
    "03-Session-Handling/wrapper_app.py",
]
STEP_03 = STEPS[2:]
SAME_HEADERS = ("content-type", "content-security-policy", "x-frame-options", "cache-control", "referrer-policy")


@pytest.mark.parametrize("step", STEPS)
def test_head_of_logout_answers_as_its_get_without_a_body(serve_step, step):
    with serve_step(step) as app:
        get = httpx2.get(f"{app}/logout")
        head = httpx2.head(f"{app}/logout")
    assert get.status_code == 200, get.text
    assert head.status_code == 200, head.status_code
    assert head.content == b""
    for name in SAME_HEADERS:
        assert head.headers.get(name) == get.headers.get(name), name


BAD_BODIES = {
    "not a form": ({"content-type": "text/plain"}, b"logout_token=x"),
    "too large": ({"content-type": "application/x-www-form-urlencoded"}, b"logout_token=" + b"a" * 10_000),
    "not UTF-8": ({"content-type": "application/x-www-form-urlencoded"}, b"logout_token=\xff\xfe"),
}


@pytest.mark.parametrize("kind", BAD_BODIES)
@pytest.mark.parametrize("step", STEP_03)
def test_a_backchannel_body_that_cannot_be_read_is_a_json_400(serve_step, step, kind):
    headers, body = BAD_BODIES[kind]
    with serve_step(step) as app:
        response = httpx2.post(f"{app}/backchannel-logout", content=body, headers=headers)
        still = httpx2.get(f"{app}/")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_request" and response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    assert still.status_code == 200
