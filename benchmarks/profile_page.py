"""Profile: where the microseconds of step 03's logged-in `GET /` go, per variant and record store.

    uv run --all-groups python benchmarks/profile_page.py            # about two minutes; prints a Markdown table
    uv run --all-groups python benchmarks/profile_page.py --json p.json --seconds 3

(Not `profile.py`: that name is the standard library's profiler module, which cProfile imports.)

It starts the dev tenant and a redis-server (as benchmarks/run.py does), then for each step-03
variant (plain cookie, wrapper) and record store (SQLite, Redis): logs in through a running copy of
the step to get a browser's cookies, and in a process of its own builds the same app in process
(no socket, no HTTP parser, the settings from the same environment, so the cookie is valid there)
and sends it logged-in `GET /` requests straight into its ASGI interface. The naive baseline
(benchmarks/baseline_naive.py, the other side of run.py's `vs_naive_*` ratios) is profiled the same
way, in a column of its own, so the two pages can be compared row by row:

1. unprofiled, to time a request (the median of `--rounds` rounds of `--seconds`);
2. under pyinstrument (a sampling profiler: every `--interval` seconds it records the Python
   stack), then each sample goes to one row of the table: the innermost frame on its stack that
   belongs to a row names the row (a frame of the step's records module is "record read", of
   Starlette's SessionMiddleware or itsdangerous under it "signed cookie", …), and what a row's
   code calls into (the standard library, a Starlette Request) counts for that row.

A row's microseconds are its share of the profiled samples times the unprofiled time of a request,
so the profiler's own overhead is spread evenly instead of added. The rows add up to the request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from run import (
    NAIVE,
    REDIS_STEPS,
    ROOT,
    STEPS,
    TENANT,
    App,
    DevTenant,
    _asgi_get,
    app_command,
    free_port,
    log,
    process,
    redis_server,
    session_cookie,
    wait_for,
)

DRIVER = "the benchmark's own driver (scope, receive, send)"
OUTSIDE = "the event loop and background tasks"


def _in(*parts: str) -> Callable[[str, str], bool]:
    """A frame whose file path contains any of `parts`."""
    return lambda path, function: any(part in path for part in parts)


def _step_file(functions: set[str], *, inside: bool) -> Callable[[str, str], bool]:
    """A frame of a step-03 app module, whose function is (inside=True) or is not in `functions`."""

    def matches(path: str, function: str) -> bool:
        return "03-Session-Handling/" in path and path.endswith("_app.py") and (function in functions) is inside

    return matches


HANDLERS = {"homepage"}


def _naive(function: str) -> Callable[[str, str], bool]:
    """A frame of the naive baseline's `function` (its frames would otherwise be the driver's)."""
    return lambda path, name: path.endswith(NAIVE.script) and name == function


# Row, and what makes a frame that row's own. The first match names the frame; a frame that matches
# none belongs to the row of the frame that called it.
ROWS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("id_token verification (shared/tokens.py)", _in("shared/tokens.py", "shared/provider.py", "shared/tenant.py")),
    ("naive: the id_token's RS256 signature and claims, verified again (joserfc)", _naive("current_user")),
    ("record read (records.py / redis_records.py)", _in("03-Session-Handling/records.py", "redis_records.py")),
    ("Check Session: the step's own code", _step_file(HANDLERS, inside=False)),
    ("CheckSessionMiddleware, profile.attach", _in("shared/check_session.py", "shared/profile.py")),
    ("signed cookie: SessionMiddleware load/save", _in("starlette/middleware/sessions.py")),
    ("signed cookie: ForgetUnreadableSignedCookie", _in("shared/middleware/signed_cookie.py")),
    ("CSRF: the form's token, the middleware (shared/middleware/csrf.py)", _in("shared/middleware/csrf.py")),
    ("security headers (shared/middleware/headers.py)", _in("shared/middleware/headers.py")),
    ("canonical host (shared/middleware/canonical_host.py)", _in("shared/middleware/canonical_host.py")),
    ("HEAD as GET (shared/middleware/head.py)", _in("shared/middleware/head.py")),
    ("oversized cookies refused (shared/cookies.py)", _in("shared/cookies.py")),
    ("the page handler (homepage)", _step_file(HANDLERS, inside=True)),
    ("naive: the page handler (home)", _naive("home")),
    ("the panel (panel.py)", _in("03-Session-Handling/panel.py")),
    (
        "template rendering (Jinja2, pages.render)",
        _in("jinja2/", "starlette/templating.py", "shared/pages.py", ".html"),
    ),
    (
        "Starlette: app, error handling, routing, response",
        _in(
            "starlette/applications.py",
            "starlette/middleware/errors.py",
            "starlette/middleware/exceptions.py",
            "starlette/_exception_handler.py",
            "starlette/routing.py",
        ),
    ),
    (DRIVER, _in("benchmarks/")),
]


def classify(path: str, function: str) -> str | None:
    for row, matches in ROWS:
        if matches(path, function):
            return row
    return None


def attribute(root: Any) -> dict[str, float]:
    """Seconds per row over pyinstrument's frame tree: each frame's own time goes to its row."""
    seconds: dict[str, float] = {}
    stack = [(root, OUTSIDE)]
    while stack:
        frame, inherited = stack.pop()
        row = classify(frame.file_path or "", frame.function) or inherited
        seconds[row] = seconds.get(row, 0.0) + frame.total_self_time
        stack.extend((child, row) for child in frame.children)
    return seconds


# --- the child: one variant and store, in process -------------------------------------------------


async def _requests(app: Any, state: dict[str, Any], port: int, cookie: str, seconds: float) -> tuple[int, float]:
    """Logged-in GET / for about `seconds`; return how many and how long they took."""
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or count == 0:
        if await _asgi_get(app, state, port, cookie) != 200:
            raise RuntimeError("the logged-in page did not answer 200 in process")
        count += 1
    return count, elapsed


def build_in_process(script: str) -> Any:
    """The app `script` serves, built in this process from the environment its server was given."""
    from tests.support.steps import load_step

    module = load_step(script)
    if script == NAIVE.script:  # a baseline takes its settings as arguments: its main() reads them
        env = os.environ
        return module.app_for(env["AUTH0_DOMAIN"], env["AUTH0_CLIENT_ID"], env["AUTH0_CLIENT_SECRET"])
    return module.create_app()


async def _profile_in_process(script: str, cookie: str, seconds: float, rounds: int, interval: float) -> dict[str, Any]:
    from pyinstrument import Profiler

    app = build_in_process(script)
    port = int(os.environ["PORT"])
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
    state: dict[str, Any] = {}
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
    lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))
    if (message := await outbox.get())["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"{script} did not start in process: {message}")
    try:
        await _requests(app, state, port, cookie, min(seconds, 0.5))  # warm: caches, templates, JWKS
        per_request = []
        for _ in range(rounds):
            count, elapsed = await _requests(app, state, port, cookie, seconds)
            per_request.append(elapsed / count * 1e6)
        page_us = statistics.median(per_request)
        profiler = Profiler(interval=interval, async_mode="disabled")
        profiler.start()
        count, _ = await _requests(app, state, port, cookie, seconds * 2)
        session = profiler.stop()
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan
    rows = attribute(session.root_frame(trim_stem=False))
    total = sum(rows.values())
    return {
        "page_us": round(page_us, 1),
        "samples": session.sample_count,
        "requests_profiled": count,
        "rows_us": {row: round(share / total * page_us, 1) for row, share in rows.items()},
        "tree": profiler.output_text(unicode=True, show_all=False, timeline=False),
    }


def profile_app(
    app: App, tenant: DevTenant, seconds: float, rounds: int, interval: float, trees: Path | None
) -> dict[str, Any]:
    """Log in through a running copy of the step, then profile it in a process of its own."""
    port = free_port()
    args, env = app_command(app, tenant, port)
    with process(args, env) as server:
        wait_for(server, port)
        cookie = asyncio.run(session_cookie(f"http://localhost:{port}", app.cookie))
        options = ["--cookie", cookie, "--seconds", str(seconds), "--rounds", str(rounds), "--interval", str(interval)]
        done = subprocess.run(
            [sys.executable, __file__, "--child", app.script, *options],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"profile of {app.name} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    tree = figures.pop("tree")
    if trees:
        (trees / f"{app.name}.txt").write_text(tree)
    return figures


def table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One Markdown table: a row per part of the request, a column per variant and store."""
    names = list(results)
    lines = [
        "| µs per logged-in `GET /`, in process | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    seen = [row for row, _ in ROWS if row != DRIVER] + [DRIVER, OUTSIDE]
    for row in seen:
        values = [results[name]["rows_us"].get(row) for name in names]
        if all(value is None or value == 0 for value in values):
            continue
        lines.append(f"| {row} | " + " | ".join("–" if v is None else f"{v:.1f}" for v in values) + " |")
    lines.append("| **the whole request** | " + " | ".join(f"**{results[n]['page_us']:.1f}**" for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Where the microseconds of step 03's logged-in GET / go.")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed round (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="unprofiled rounds timed per app (default 3)")
    parser.add_argument("--interval", type=float, default=0.0001, help="pyinstrument's sampling interval, s")
    parser.add_argument("--only", action="append", help="profile only this app (cookie, wrapper_redis, …)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    parser.add_argument("--trees", type=Path, metavar="DIR", help="also write pyinstrument's call tree per app to DIR")
    parser.add_argument("--child", metavar="STEP", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        figures = asyncio.run(_profile_in_process(args.child, args.cookie, args.seconds, args.rounds, args.interval))
        print(json.dumps(figures))
        return 0
    results: dict[str, dict[str, Any]] = {}
    if args.trees:
        args.trees.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as state_dir, ExitStack() as stack:
        tenant = DevTenant(free_port(), state_dir)
        server = stack.enter_context(
            process([*TENANT, "--port", str(tenant.port), "--state-dir", state_dir], {**os.environ})
        )
        wait_for(server, tenant.port, "/.well-known/openid-configuration")
        apps: list[App] = list(STEPS)
        redis_url = stack.enter_context(redis_server(Path(state_dir)))
        if redis_url:
            apps += [replace(app, env={"SESSION_STORE_URL": redis_url}) for app in REDIS_STEPS]
        else:
            log("no redis-server on this machine: the Redis store is not profiled")
        apps.append(NAIVE)  # the other side of run.py's vs_naive_* ratios, profiled the same way
        for app in apps:
            if args.only and app.name not in args.only:
                continue
            log(f"profiling {app.name}")
            results[app.name] = profile_app(app, tenant, args.seconds, args.rounds, args.interval, args.trees)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
