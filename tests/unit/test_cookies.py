"""The size guard's arithmetic against the cookies Starlette really writes."""

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.cookies import MAX_COOKIE_BYTES, check_cookie_size, signed_cookie_size
from shared.errors import SessionTooLarge


@pytest.mark.parametrize("size", [10, 900, 2500])
@pytest.mark.parametrize("https", [False, True])
def test_signed_cookie_size_is_a_close_upper_bound(size, https):
    session = {"id_token": "x" * size, "login": {"state": "s" * 32, "nonce": "n" * 32, "code_verifier": "v" * 64}}

    async def store(request: Request) -> PlainTextResponse:
        request.session.update(session)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/", store)],
        middleware=[Middleware(SessionMiddleware, secret_key="k" * 40, https_only=https)],
    )
    header = (
        TestClient(app, base_url="https://testserver" if https else "http://testserver").get("/").headers["set-cookie"]
    )
    estimate = signed_cookie_size(session, "session")
    assert len(header) <= estimate <= len(header) + 100


def test_check_cookie_size_refuses_only_what_a_browser_would_drop():
    check_cookie_size(MAX_COOKIE_BYTES)
    with pytest.raises(SessionTooLarge, match="4096 bytes"):
        check_cookie_size(MAX_COOKIE_BYTES + 1)
