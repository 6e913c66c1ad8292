"""The size guard, on the cookies Starlette really writes: a response whose cookie a browser would
drop is answered with the 400 page instead, and its cookies never reach the browser."""

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.cookies import MAX_COOKIE_BYTES, RefuseOversizedCookies


async def refused_page(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"refused: {exc}", status_code=400)


def app_storing(size: int, *, signed: bool) -> Starlette:
    async def store(request: Request) -> Response:
        response = PlainTextResponse("stored")
        if signed:
            request.session["id_token"] = "x" * size  # SessionMiddleware writes the cookie
        else:
            response.set_cookie("id_token", "x" * size, httponly=True, samesite="lax")
        return response

    return Starlette(
        routes=[Route("/", store)],
        middleware=[
            Middleware(RefuseOversizedCookies, page=refused_page),
            Middleware(SessionMiddleware, secret_key="k" * 40),
        ],
    )


@pytest.mark.parametrize("signed", [False, True], ids=["plain", "signed"])
def test_a_cookie_the_browser_would_drop_is_a_400_page_and_never_sent(signed):
    answer = TestClient(app_storing(MAX_COOKIE_BYTES, signed=signed)).get("/")
    assert answer.status_code == 400 and "4096 bytes" in answer.text
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize("signed", [False, True], ids=["plain", "signed"])
def test_a_cookie_that_fits_is_sent(signed):
    size = 2800 if signed else 3900  # the signed cookie holds it as base64 JSON, a third larger
    answer = TestClient(app_storing(size, signed=signed)).get("/")
    assert answer.status_code == 200 and answer.text == "stored"
    assert MAX_COOKIE_BYTES >= len(answer.headers["set-cookie"]) > 3700
