"""The factory's CSRF check (shared/middleware/csrf.py): every POST route is checked before it runs, whatever
the route itself does; a session's token is derived from it, not stored; exemptions are explicit."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shared.app import build_app
from shared.config import Settings
from shared.forms import read_form
from shared.pages import render
from shared.tokens import Claims

BASE = "http://localhost:3999"
SIGNED = "unit_signed"
GOOD = {"a.b.c": "user-a", "d.e.f": "user-b"}  # the stand-in Check Session's valid id_tokens
ENDED = "g.h.i"  # stored, but its session has ended (an idle timeout): the check says logged out


def make_app(tmp_path: Path, *, exempt: tuple[str, ...] = ()) -> tuple[object, list[dict[str, str]]]:
    """A step built by the factory whose POST routes do no CSRF check of their own."""
    templates = tmp_path / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "form.html").write_text('<input name="csrf_token" value="{{ csrf_token(request) }}">')
    posted: list[dict[str, str]] = []

    async def form(request: Request) -> Response:
        return render(request, "form.html")

    async def change(request: Request) -> Response:
        posted.append(await read_form(request))  # the body the check read is still there
        return PlainTextResponse("changed")

    async def check(request: Request, id_token: str) -> Claims | None:
        return Claims(sub=GOOD[id_token]) if id_token in GOOD else None

    settings = Settings(
        issuer="http://localhost:4999/",
        client_id="unit",
        client_secret="unit-secret",
        app_secret_key="unit-secret-key-" + "x" * 32,
        base_url=BASE,
        embedded=True,
        state_dir=tmp_path,
    )
    app = build_app(
        [Route("/", form), Route("/change", change, methods=["POST"]), Route("/hook", change, methods=["POST"])],
        step="unit",
        settings=settings,
        templates=templates,
        signed_cookie=SIGNED,
        read_id_token=lambda request: request.cookies.get("idt"),
        check_session=check,
        erase_id_token=lambda request, response: None,
        oauth=None,  # no login here: the lifespan, which lends it the tenant, does not run
        csrf_exempt=exempt,
    )
    return app, posted


def browse(app: object, *requests: tuple[str, str, dict]) -> list[httpx2.Response]:
    async def go() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
            return [await client.request(method, path, **options) for method, path, options in requests]

    return asyncio.run(go())


def token_in(page: httpx2.Response) -> str:
    found = re.search(r'value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


SAME_ORIGIN = {"origin": BASE}


def test_a_post_route_that_checks_nothing_itself_is_refused_without_origin_or_token(tmp_path):
    app, posted = make_app(tmp_path)
    page, no_token, wrong, elsewhere = browse(
        app,
        ("GET", "/", {}),
        ("POST", "/change", {"data": {"x": "1"}, "headers": SAME_ORIGIN}),
        ("POST", "/change", {"data": {"csrf_token": "forged"}, "headers": SAME_ORIGIN}),
        ("POST", "/change", {"data": {"csrf_token": "forged"}, "headers": {"origin": "http://localhost:3998"}}),
    )
    assert SIGNED in page.headers["set-cookie"]  # the browser holds a token: the posts do not carry it
    for answer in (no_token, wrong, elsewhere):
        assert answer.status_code == 403, answer.text
    assert "another web page" in elsewhere.text
    assert posted == []  # the route never ran


def test_the_pages_token_with_the_apps_origin_reaches_the_route_with_its_body(tmp_path):
    app, posted = make_app(tmp_path)

    async def go() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:  # type: ignore[arg-type]
            page = await client.get("/")
            fields = {"csrf_token": token_in(page), "x": "kept"}
            other_port = await client.post("/change", data=fields, headers={"origin": "http://localhost:3998"})
            return [page, other_port, await client.post("/change", data=fields, headers=SAME_ORIGIN)]

    page, other_port, answer = asyncio.run(go())
    assert SIGNED in page.headers.get("set-cookie", "")  # no session open: a random token, kept signed
    assert other_port.status_code == 403
    assert answer.status_code == 200, answer.text
    assert posted == [{"csrf_token": token_in(page), "x": "kept"}]


def test_an_open_sessions_token_is_derived_from_it_and_needs_no_signed_cookie(tmp_path):
    app, posted = make_app(tmp_path)
    a1, a2, b = browse(
        app,
        ("GET", "/", {"headers": {"cookie": "idt=a.b.c"}}),
        ("GET", "/", {"headers": {"cookie": "idt=a.b.c"}}),
        ("GET", "/", {"headers": {"cookie": "idt=d.e.f"}}),
    )
    assert "set-cookie" not in a1.headers  # nothing stored for it
    assert token_in(a1) == token_in(a2) != token_in(b)  # one per session
    ok, foreign = browse(
        app,
        ("POST", "/change", {"data": {"csrf_token": token_in(a1)}, "headers": {**SAME_ORIGIN, "cookie": "idt=a.b.c"}}),
        ("POST", "/change", {"data": {"csrf_token": token_in(b)}, "headers": {**SAME_ORIGIN, "cookie": "idt=a.b.c"}}),
    )
    assert ok.status_code == 200, ok.text
    assert foreign.status_code == 403  # another session's token
    assert len(posted) == 1


def test_a_form_drawn_before_its_session_ended_still_posts(tmp_path):
    """Log Out after an idle timeout: the id_token is still stored, the check now says logged out."""
    app, posted = make_app(tmp_path)
    GOOD[ENDED] = "user-c"
    try:
        (page,) = browse(app, ("GET", "/", {"headers": {"cookie": f"idt={ENDED}"}}))
    finally:
        del GOOD[ENDED]
    options = {"data": {"csrf_token": token_in(page)}, "headers": {**SAME_ORIGIN, "cookie": f"idt={ENDED}"}}
    (answer,) = browse(app, ("POST", "/change", options))
    assert answer.status_code == 200, answer.text
    assert posted == [{"csrf_token": token_in(page)}]


def test_an_exempt_path_is_posted_without_origin_or_token_and_only_that_one(tmp_path):
    app, posted = make_app(tmp_path, exempt=("/hook",))
    hook, change = browse(
        app,
        ("POST", "/hook", {"data": {"logout_token": "x"}, "headers": {"origin": "https://elsewhere.example"}}),
        ("POST", "/change", {"data": {"logout_token": "x"}, "headers": SAME_ORIGIN}),
    )
    assert hook.status_code == 200, hook.text
    assert change.status_code == 403
    assert posted == [{"logout_token": "x"}]


def test_an_exemption_must_name_a_route(tmp_path):
    app, _ = make_app(tmp_path, exempt=("/backchannel-logut",))  # a typo would leave nothing exempt
    with pytest.raises(ValueError, match="backchannel-logut"):
        browse(app, ("GET", "/", {}))


def test_an_oversized_post_is_a_400_before_the_route(tmp_path):
    app, posted = make_app(tmp_path)
    (answer,) = browse(app, ("POST", "/change", {"data": {"csrf_token": "x" * 5000}, "headers": SAME_ORIGIN}))
    assert answer.status_code == 400
    assert posted == []
