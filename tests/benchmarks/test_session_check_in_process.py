"""The benchmark's in-process session check (benchmarks/run.py), on a stand-in step: it must time
the same page with the step's own check and with a check that answers once and is then skipped."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A step as the benchmark sees one: create_app() reading its settings from the environment, a
# lifespan, and shared's CheckSessionMiddleware with the step's check.
STAND_IN = """
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.check_session import CheckSessionMiddleware

COUNTERS = []  # per app made: how many times its check ran


def create_app():
    calls = {"check": 0}
    COUNTERS.append(calls)

    async def check(request, id_token):
        calls["check"] += 1
        return {"sub": "user-1"} if id_token == "good" else None

    async def home(request):
        return PlainTextResponse(f"hello {request.user['sub']}" if request.user else "anonymous")

    def read(request):
        return request.cookies.get("token")

    def erase(request, response):
        response.delete_cookie("token")

    return Starlette(
        routes=[Route("/", home)],
        middleware=[Middleware(CheckSessionMiddleware, read=read, check=check, erase=erase)],
    )
"""


def _benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_check_is_timed_with_and_without_itself_on_the_same_page(tmp_path, monkeypatch):
    step = tmp_path / "stand_in_app.py"
    step.write_text(STAND_IN)
    monkeypatch.setenv("PORT", "8123")
    figures = asyncio.run(_benchmark()._session_check_in_process(str(step), "token=good", seconds=0.05, rounds=2))
    assert set(figures) == {"session_page_us", "session_check_us"}
    assert figures["session_page_us"] > 0
    (stand_in,) = [m for m in sys.modules.values() if getattr(m, "__file__", None) == str(step)]
    checked, stubbed = stand_in.COUNTERS
    assert stubbed["check"] == 1  # asked once, then its answer was reused: no check on the page
    assert checked["check"] > 10  # a check on every request
