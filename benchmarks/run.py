"""Benchmark: what a session costs, measured side by side, against the dev tenant on loopback.

    uv run python benchmarks/run.py                 # about two minutes on 2 cores; prints one JSON object
    uv run python benchmarks/run.py --json out.json # also save it
    uv run python benchmarks/run.py --seconds 0.3 --rounds 1 --logins 5 --memory-logins 20 --memory-forged 20
                                                    # a quick smoke run (the test suite does this)

It starts the dev tenant (wrapped to count JWKS fetches), each step-03 variant and two baselines
written for the benchmark as their own processes, all at once, then drives them from this process
with a small HTTP/1.1 load generator (raw asyncio sockets: a heavier client would eat the CPU the
servers need and flatten the ratios). The baselines are the quickstart pattern (Flask + Authlib,
the token dict in Flask's signed session, served by Flask's own server: baseline_quickstart.py) and
the naive pattern (Starlette, the id_token's RS256 signature verified on every request:
baseline_naive.py). Figures are ratios measured in one run, in alternating rounds (every app in
turn, round after round) so that all sides see the same machine.

Memory (`rss_growth_mb`): a step's VmRSS before and after --memory-logins full logins plus
--memory-forged requests that each carry a distinct forged or garbage session cookie; a cache that
is not bounded shows here. MEMORY_STEPS says which steps: the plain cookie, where a forged cookie
reaches the token verifier and its caches (which both variants share), once per record store
(SQLite, and Redis when a redis-server is installed). `rss_per_1000_sessions_mb_<step>`: the growth
over the logins alone, per 1,000 (each leaves a live session behind).

The logins are real code-flow logins (/login -> /authorize -> /callback -> token exchange ->
id_token verified -> cookie) by 8 browsers that hold a tenant SSO session, so the tenant skips its
form and its password hash: 10,000 take 20-35 s on 2 cores (the tenant signs every id_token), the
longest phase after the throughput rounds. Password logins (~40 ms each, the hash is slow on
purpose) would take 7 minutes, and tokens minted without the app's /callback would skip the very
code whose memory is in question. The forged cookies come in three kinds, in turn: random text, a
JWT with the tenant's `kid` and a wrong signature (a full RSA check, then refused), and a JWT with
an unknown `kid` (the key-rotation path, whose re-fetches are rate-limited). The verifier remembers
up to 10,000 verified tokens (shared/tokens.py CACHE_SIZE), so 10,000 logins fill that cache
exactly: the growth is mostly that cache; a run with more logins shows whether it stops there.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import importlib.util
import json
import os
import platform
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import httpx2

from shared.dev_tenant import DEV_CLIENT_ID, dev_client_secret
from tests.support.redis_server import redis_server_path, running_redis


@dataclass(frozen=True)
class App:
    """A server under test: its name is the suffix of its keys (session_rps_<name>, vs_quickstart_<name>, …)."""

    name: str
    script: str  # relative to the project root
    cookie: str  # the cookie that carries its session
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment: a variant configuration
    baseline: bool = False  # configured like the quickstart (AUTH0_* variables), not like a step


STEPS = (
    App("cookie", "03-Session-Handling/cookie_app.py", "step03_cookie_id_token"),
    App("wrapper", "03-Session-Handling/wrapper_app.py", "step03_wrapper_signed"),
)
# With a redis-server on the machine, both again with the session records in Redis (SESSION_STORE_URL):
# session_ratio_cookie_redis, vs_quickstart_wrapper_redis, … and revocation_ms across two instances.
REDIS_STEPS = tuple(replace(app, name=f"{app.name}_redis") for app in STEPS)
REVOCATION_TRIALS = 50
RECORD_READS = 20_000  # per store, for record_get_us_*
QUICKSTART = App("quickstart", "benchmarks/baseline_quickstart.py", "session", baseline=True)
NAIVE = App("naive", "benchmarks/baseline_naive.py", "id_token", baseline=True)
BASELINES = (QUICKSTART, NAIVE)
LOGIN_STEP = "cookie"  # the step whose login figures (login_ms_p50, password_login_ms_p50, …) are reported
# The steps whose memory is measured. The plain cookie: there a forged cookie reaches the token verifier and
# its caches (the wrapper's signature check refuses it first), and both variants share that verifier.
# 10,000 logins take ~25 s per step on 2 cores, so one step (once per record store) keeps the whole run
# within about three minutes.
MEMORY_STEPS = ("cookie",)

ROOT = Path(__file__).resolve().parent.parent
TENANT = [sys.executable, str(Path(__file__).with_name("tenant_with_stats.py"))]
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-Passw0rd"
COLD_STARTS = 3  # per variant; the figure is the median of them all
BROWSERS = 8  # concurrent browsers for logins_per_s_8 and the memory phase's logins
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"connection:\s*close", re.IGNORECASE)


def log(message: str) -> None:
    """Progress on stderr: stdout carries the JSON object only."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_200(port: int, path: str) -> bool:
    """One GET over a raw socket: building an HTTP client per poll would distort the cold-start figure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    stderr: IO[bytes]

    def tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-2000:]


def wait_for(server: Server, port: int, path: str = "/", timeout: float = 30) -> float:
    """Poll until the server on `port` answers 200; return the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if answers_200(port, path):
            return time.perf_counter() - start
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.proc.args!r} exited with {server.proc.returncode}:\n{server.tail()}")
        time.sleep(0.002)
    raise RuntimeError(f"port {port} did not answer {path} within {timeout} s:\n{server.tail()}")


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[Server]:
    # stderr goes to a file, not a pipe nobody reads: a chatty server would block once the pipe is full.
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            yield Server(proc, stderr)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rss_mb(pid: int) -> float:
    """The process's resident set (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# --- load generator -------------------------------------------------------------------------------


async def _worker(port: int, next_request: Callable[[], bytes | None]) -> int:
    """Send requests over one connection until `next_request` returns None; return how many were answered.

    Keep-alive where the server allows it; Flask's development server closes the connection after
    every response (Connection: close), so then each request pays for a new one, as a browser would.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while (request := next_request()) is not None:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if head[9:12] != b"200":
                raise RuntimeError(f"unexpected answer: {head[:200]!r}")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            done += 1
            if _CLOSE.search(head):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()
    return done


def _get(port: int, cookie: str | None) -> bytes:
    headers = f"GET / HTTP/1.1\r\nHost: localhost:{port}\r\n"
    if cookie:
        headers += f"Cookie: {cookie}\r\n"
    return (headers + "\r\n").encode()


async def throughput(port: int, cookie: str | None, seconds: float, connections: int = 8) -> float:
    """Requests per second of GET / over `connections` connections."""
    request = _get(port, cookie)
    start = time.perf_counter()
    deadline = start + seconds

    def next_request() -> bytes | None:
        return request if time.perf_counter() < deadline else None

    counts = await asyncio.gather(*(_worker(port, next_request) for _ in range(connections)))
    return sum(counts) / (time.perf_counter() - start)


async def send_all(port: int, requests: Iterator[bytes], connections: int = 8) -> int:
    """Send every request in `requests`, spread over `connections` connections."""

    def next_request() -> bytes | None:
        return next(requests, None)

    return sum(await asyncio.gather(*(_worker(port, next_request) for _ in range(connections))))


# --- logins ---------------------------------------------------------------------------------------


def _form_fields(html: str) -> tuple[str, dict[str, str]]:
    form = re.search(r'<form[^>]*action="([^"]*)"', html)
    if form is None:
        raise RuntimeError("no login form in the tenant's page")
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    return form.group(1), fields


async def password_login(client: httpx2.AsyncClient, app: str) -> None:
    """Through the hosted form, as a person would (the tenant hashes the password: slow on purpose)."""
    response = await client.get(f"{app}/login")
    while response.is_redirect:
        response = await client.get(urljoin(str(response.url), response.headers["location"]))
    action, fields = _form_fields(response.text)
    fields.update(username=DEMO_EMAIL, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    response = await client.post(urljoin(str(response.url), action), data=fields)
    while response.is_redirect:
        response = await client.get(urljoin(str(response.url), response.headers["location"]))
    if "btn-logout" not in response.text:
        raise RuntimeError(f"password login to {app} did not end logged in")


class RawBrowser:
    """Just enough of a browser for the SSO round trip: one cookie jar for `localhost` (browsers ignore
    ports, so the app and the tenant share it), keep-alive connections, no redirect magic. httpx2 costs
    ~10 ms of CPU per login here, CPU the servers under test would otherwise get.
    """

    def __init__(self, cookies: dict[str, str]) -> None:
        self.cookies = dict(cookies)
        self._connections: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def get(self, url: str) -> tuple[int, str]:
        """GET `url`; return the status and the Location header ("" if none)."""
        rest = url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        port = int(hostport.rsplit(":", 1)[1])
        if port not in self._connections:
            self._connections[port] = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = self._connections[port]
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        writer.write(f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nCookie: {cookie}\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status, location, length, close = int(head[9:12]), "", 0, False
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "location":
                location = urljoin(url, value)
            elif name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "max-age=0" in value.lower() or "1970" in value or val in ("", '""', "null"):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        await reader.readexactly(length)
        if close:  # Flask's development server: one request per connection
            writer.close()
            del self._connections[port]
        return status, location

    def close(self) -> None:
        for _, writer in self._connections.values():
            writer.close()


async def sso_login(browser: RawBrowser, app: str) -> None:
    """/login -> /authorize (SSO session: no form) -> /callback -> token -> verify -> cookie."""
    status, location = await browser.get(f"{app}/login")
    for _ in range(4):
        if location.rstrip("/") == app:
            return
        status, location = await browser.get(location)
    raise RuntimeError(f"SSO login did not come back to the app: {status} {location}")


async def logged_in_browser(app: str) -> RawBrowser:
    """A browser holding a tenant SSO session, made once with a password login."""
    async with httpx2.AsyncClient(timeout=10) as client:
        await password_login(client, app)
        return RawBrowser({name: value for name, value in client.cookies.items()})


async def many_logins(app: str, *, count: int | None = None, seconds: float = 0.0) -> float:
    """SSO logins by BROWSERS browsers at once, `count` of them or for `seconds`; return logins per second
    (the password logins that give each browser its SSO session are not counted)."""
    browsers = await asyncio.gather(*(logged_in_browser(app) for _ in range(BROWSERS)))
    started = 0
    begin = time.perf_counter()
    deadline = begin + seconds

    def another() -> bool:
        nonlocal started
        if (started >= count) if count is not None else (time.perf_counter() >= deadline):
            return False
        started += 1
        return True

    async def loop(browser: RawBrowser) -> None:
        while another():
            await sso_login(browser, app)

    try:
        await asyncio.gather(*(loop(b) for b in browsers))
    finally:
        for browser in browsers:
            browser.close()
    return started / (time.perf_counter() - begin)


async def password_logins(app: str, count: int) -> list[float]:
    """Milliseconds per password login, each from a fresh cookie jar."""
    times = []
    async with httpx2.AsyncClient(timeout=10) as client:
        for _ in range(count):
            client.cookies.clear()
            started = time.perf_counter()
            await password_login(client, app)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def sso_latencies(apps: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Sequential SSO logins, one per app in turn (alternating, as the throughput rounds), in ms."""
    browsers = {name: await logged_in_browser(url) for name, url in apps.items()}
    times: dict[str, list[float]] = {name: [] for name in apps}
    try:
        for name, url in apps.items():
            await sso_login(browsers[name], url)  # warm
        for _ in range(rounds):
            for name, url in apps.items():
                started = time.perf_counter()
                await sso_login(browsers[name], url)
                times[name].append((time.perf_counter() - started) * 1000)
    finally:
        for browser in browsers.values():
            browser.close()
    return times


async def session_cookie(app: str, name: str) -> str:
    """The Cookie header a logged-in browser sends the app: the session's cookie `name`, and the rest
    of what the app gave it (the wrapper's signed cookie; the plain-cookie variant keeps none once
    logged in: its Log Out button's CSRF token is derived from the session), as a browser would send
    them back — not the tenant's own cookies (same host, other port)."""
    async with httpx2.AsyncClient(timeout=10) as client:
        await password_login(client, app)
        assert name in client.cookies, name
        kept = {key: value for key, value in client.cookies.items() if not key.startswith("devtenant_")}
        return "; ".join(f"{key}={value}" for key, value in kept.items())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_cookies(name: str, count: int, issuer: str, kid: str) -> Iterator[str]:
    """`count` distinct cookies that must not log anyone in: random text, a JWT with the tenant's kid
    and a wrong signature, a JWT with an unknown kid, in turn."""
    now = int(time.time())
    for i in range(count):
        kind = i % 3
        if kind == 0:
            yield f"{name}={secrets.token_urlsafe(180)}"
            continue
        header = {"alg": "RS256", "typ": "JWT", "kid": kid if kind == 1 else secrets.token_hex(8)}
        claims = {"iss": issuer, "aud": DEV_CLIENT_ID, "sub": f"auth0|forged{i}", "iat": now, "exp": now + 3600}
        parts = (json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(256))
        yield f"{name}={'.'.join(_b64(part) for part in parts)}"


# --- the session check in process -----------------------------------------------------------------


async def _asgi_get(app: Any, state: dict[str, Any], port: int, cookie: str | None) -> int:
    """GET / straight into the ASGI app: no socket, no HTTP parser, so what is left is the app's work."""
    headers = [(b"host", f"localhost:{port}".encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", port),
        "state": dict(state),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _page_us(app: Any, state: dict[str, Any], port: int, cookie: str, seconds: float) -> float:
    """Microseconds per logged-in GET /, over about `seconds`."""
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or count == 0:
        if await _asgi_get(app, state, port, cookie) != 200:
            raise RuntimeError("the logged-in page did not answer 200 in process")
        count += 1
    return elapsed / count * 1e6


async def _session_check_in_process(script: str, cookie: str, seconds: float, rounds: int) -> dict[str, float]:
    """The same logged-in page, rendered by two instances of the step's app in this process: one with
    its Check Session, one whose check answers the claims it gave once (no verification, no record
    read). The difference is what the check costs a request. Settings come from the environment,
    as `python <step>.py` reads them, so both share the running step's store (its SQLite file or its
    Redis) and the cookie logged in there is valid here."""
    from shared.check_session import CheckSessionMiddleware
    from tests.support.steps import load_step

    module = load_step(script)
    port = int(os.environ["PORT"])
    apps = [module.create_app(), module.create_app()]
    checked, stubbed = apps
    found = [m for m in stubbed.user_middleware if m.cls is CheckSessionMiddleware]
    if not found:
        raise RuntimeError(f"{script}: no CheckSessionMiddleware in its app")
    real_check = found[0].kwargs["check"]
    claims: list[Any] = []

    async def answer_once(request: Any, id_token: str) -> Any:
        if not claims:
            claims.append(await real_check(request, id_token))
        return claims[0]

    found[0].kwargs["check"] = answer_once  # before the first request builds the middleware stack
    lifespans = []
    for app in apps:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        state: dict[str, Any] = {}
        await inbox.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
        task = asyncio.create_task(app(scope, inbox.get, outbox.put))
        if (message := await outbox.get())["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"{script} did not start in process: {message}")
        lifespans.append((state, inbox, outbox, task))
    with_check, without = [], []
    for app, (state, *_) in zip(apps, lifespans, strict=True):
        await _page_us(app, state, port, cookie, min(seconds, 0.2))  # warm: caches, templates, claims
    for _ in range(rounds):
        with_check.append(await _page_us(checked, lifespans[0][0], port, cookie, seconds))
        without.append(await _page_us(stubbed, lifespans[1][0], port, cookie, seconds))
    for _state, inbox, outbox, task in lifespans:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task
    page = statistics.median(with_check)
    return {
        "session_page_us": round(page, 1),
        "session_check_us": round(statistics.median(w - o for w, o in zip(with_check, without, strict=True)), 1),
    }


def session_check(app: App, tenant: DevTenant, port: int, cookie: str, seconds: float, rounds: int) -> dict[str, float]:
    """_session_check_in_process in a process of its own, with the running step's environment."""
    _, env = app_command(app, tenant, port)
    options = ["--cookie", cookie, "--seconds", str(seconds), "--rounds", str(rounds)]
    done = subprocess.run(
        [sys.executable, __file__, "--session-check", app.script, *options],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"session check of {app.name} in process failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return {f"{key}_{app.name}": value for key, value in figures.items()}


# --- the record stores alone ---------------------------------------------------------------------


def _records_modules() -> tuple[Any, Any]:
    from tests.support.steps import load_step

    redis_records = load_step("03-Session-Handling/redis_records.py")
    # By the name redis_records imports it with: one SessionRecord class, not two.
    return importlib.import_module("records"), redis_records


async def _get_us(store: Any, key: str, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        if await store.get(key) is None:
            raise RuntimeError("the record vanished during the benchmark")
    return (time.perf_counter() - started) / count * 1e6


async def _until(condition: Callable[[], Any]) -> None:
    """Poll `condition` (a bool, or an awaitable of one), giving the event loop a turn in between."""
    while True:
        result = condition()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0)


async def _held(store: Any, key: str) -> bool:
    return await store.get(key) is not None and key in store._cache


async def _gone(store: Any, key: str) -> bool:
    return await store.get(key) is None


async def _records_figures(directory: Path, redis_url: str | None, count: int, trials: int) -> dict[str, float]:
    """What Check Session's record read costs, per store, in process (no app, no HTTP): a read of one
    live record, repeated. Redis twice: with this process's memory of records, and without it."""
    records, redis_records = _records_modules()
    now = time.time()
    record = records.SessionRecord(secrets.token_hex(32), "sid-bench", "user-bench", now, now, now + 3600)
    results: dict[str, float] = {}
    sqlite = records.SqliteRecords(directory / "bench-records.sqlite3")
    await sqlite.start(record)
    await _get_us(sqlite, record.key, min(count, 100))
    results["record_get_us_sqlite"] = round(await _get_us(sqlite, record.key, count), 2)
    if not redis_url:
        return results
    prefix = f"bench-{secrets.token_hex(4)}"
    cached, uncached, other = (
        redis_records.RedisRecords(redis_url, prefix=prefix),
        redis_records.RedisRecords(redis_url, prefix=prefix, cache_size=0),
        redis_records.RedisRecords(redis_url, prefix=prefix),
    )
    try:
        await cached.start(record)
        await cached.get(record.key)
        await _until(cached._trusted)  # the invalidation connection's first answer
        await _get_us(cached, record.key, min(count, 100))
        results["record_get_us_redis"] = round(await _get_us(cached, record.key, count), 2)
        await _get_us(uncached, record.key, min(count, 100))
        results["record_get_us_redis_uncached"] = round(await _get_us(uncached, record.key, count), 2)
        # A logout on one instance, until another that held the record in memory no longer returns it.
        times = []
        for _ in range(trials):
            session = replace(record, key=secrets.token_hex(32))
            await other.start(session)
            await _until(partial(_held, cached, session.key))
            started = time.perf_counter()
            await other.end(session.key)
            await _until(partial(_gone, cached, session.key))
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results["record_revocation_ms_p50"] = round(statistics.median(times), 3)
        results["record_revocation_ms"] = round(times[max(0, int(len(times) * 0.95) - 1)], 3)
    finally:
        for store in (cached, uncached, other):
            await store.aclose()
    return results


def measure_records(directory: Path, redis_url: str | None, count: int, trials: int) -> dict[str, float]:
    return asyncio.run(_records_figures(directory, redis_url, count, trials))


# --- the run --------------------------------------------------------------------------------------


@dataclass
class DevTenant:
    port: int
    state_dir: str

    @property
    def issuer(self) -> str:
        return f"http://localhost:{self.port}/"

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx2.get(f"http://127.0.0.1:{self.port}/__bench/stats").json()
        return stats

    def kid(self) -> str:
        jwks: dict[str, Any] = httpx2.get(f"{self.issuer}.well-known/jwks.json").json()
        kid: str = jwks["keys"][0]["kid"]
        return kid


def app_command(app: App, tenant: DevTenant, port: int) -> tuple[list[str], dict[str, str]]:
    """How `app` is started: a step as `python <step>.py` with the dev tenant's variables, a baseline
    with the quickstart's (AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET), then the app's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "APP_"))}
    env["PORT"] = str(port)
    if app.baseline:
        secret = dev_client_secret(Path(tenant.state_dir))
        env.update(AUTH0_DOMAIN=tenant.issuer, AUTH0_CLIENT_ID=DEV_CLIENT_ID, AUTH0_CLIENT_SECRET=secret)
    else:
        env.update(DEV_TENANT_PORT=str(tenant.port), DEV_TENANT_STATE_DIR=tenant.state_dir)
    env.update(app.env)
    return [sys.executable, str(ROOT / app.script)], env


@dataclass
class Running:
    app: App
    server: Server
    port: int
    cookie: str = ""  # "name=value" of a logged-in session

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


def has_bytecode(module: str) -> bool:
    """Whether the module's compiled bytecode is on disk, as a second start would find it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return False
    return Path(importlib.util.cache_from_source(spec.origin)).exists()


def cold_start(tenant: DevTenant, app: App) -> float:
    """Milliseconds from launching the step's process (python, not `uv run`) to its first 200."""
    port = free_port()
    started = time.perf_counter()
    with process(*app_command(app, tenant, port)) as server:
        wait_for(server, port)
        return (time.perf_counter() - started) * 1000


def measure_throughput(running: dict[str, Running], seconds: float, rounds: int) -> dict[str, float]:
    """Every app in turn, round after round: anonymous and logged-in GET / for each step, logged-in for
    each baseline. Ratios are per round (the two sides of a ratio a few seconds apart), then the median."""
    anon: dict[str, list[float]] = {name: [] for name, r in running.items() if not r.app.baseline}
    session: dict[str, list[float]] = {name: [] for name in running}
    for r in running.values():  # warm-up
        asyncio.run(throughput(r.port, r.cookie, min(seconds, 0.5)))
    for i in range(rounds):
        log(f"throughput round {i + 1}/{rounds}")
        for name, r in running.items():
            if name in anon:
                anon[name].append(asyncio.run(throughput(r.port, None, seconds)))
            session[name].append(asyncio.run(throughput(r.port, r.cookie, seconds)))

    def ratio(top: list[float], bottom: list[float]) -> float:
        return round(statistics.median(t / b for t, b in zip(top, bottom, strict=True)), 3)

    results: dict[str, float] = {}
    for name, rps in session.items():
        results[f"session_rps_{name}"] = round(statistics.median(rps), 1)
    for name, rps in anon.items():
        results[f"anon_rps_{name}"] = round(statistics.median(rps), 1)
        results[f"session_ratio_{name}"] = ratio(session[name], rps)
        for baseline in BASELINES:
            results[f"vs_{baseline.name}_{name}"] = ratio(session[name], session[baseline.name])
    for name in list(anon):
        if f"{name}_redis" in session:
            results[f"redis_vs_sqlite_{name}"] = ratio(session[f"{name}_redis"], session[name])
    results["anon_rps"] = round(statistics.median(x for rps in anon.values() for x in rps), 1)
    return results


def measure_logins(running: dict[str, Running], rounds: int, seconds: float) -> dict[str, float]:
    step = running[LOGIN_STEP]
    password_ms = asyncio.run(password_logins(step.url, max(3, rounds // 20 + 1)))
    apps = {name: running[name].url for name in (LOGIN_STEP, *(b.name for b in BASELINES))}
    sso = asyncio.run(sso_latencies(apps, rounds))
    per_second = asyncio.run(many_logins(step.url, seconds=seconds))
    ms = sorted(sso[LOGIN_STEP])
    results = {
        "login_ms_p50": round(statistics.median(ms), 2),
        "login_ms_p95": round(ms[max(0, int(len(ms) * 0.95) - 1)], 2),
        "password_login_ms_p50": round(statistics.median(password_ms), 1),
        "logins_per_s_8": round(per_second, 1),
    }
    for baseline in BASELINES:
        p50 = statistics.median(sso[baseline.name])
        results[f"login_ms_p50_{baseline.name}"] = round(p50, 2)
        results[f"login_vs_{baseline.name}"] = round(statistics.median(ms) / p50, 3)
    return results


async def revocation_latencies(first: Running, second: Running, trials: int) -> list[tuple[float, float, int]]:
    """Milliseconds from Log Out on `first` to `second` (sharing its Redis) refusing a copy of the cookie;
    with, per trial, the milliseconds Log Out itself took and how many GETs the second instance answered."""
    browser = await logged_in_browser(first.url)
    name = first.app.cookie
    times = []
    try:
        async with httpx2.AsyncClient(timeout=10) as client:
            for _ in range(trials):
                await sso_login(browser, first.url)
                stolen = {"cookie": f"{name}={browser.cookies[name]}"}
                assert 'id="btn-logout"' in (await client.get(f"{second.url}/", headers=stolen)).text
                # Log Out as its button does (a POST with the CSRF token of GET /logout's form), not
                # following the redirect to the tenant: its SSO session stays for the next trial.
                form = await client.get(f"{first.url}/logout", headers=stolen)
                cookies = {name: browser.cookies[name], **dict(form.cookies.items())}
                header = "; ".join(f"{key}={value}" for key, value in cookies.items())
                token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
                assert token, form.text
                started = time.perf_counter()
                answer = await client.post(
                    f"{first.url}/logout",
                    data={"csrf_token": token[1]},
                    headers={"cookie": header, "origin": first.url},
                )
                assert answer.status_code == 303, answer.text
                logged_out = time.perf_counter()
                # The record is gone from Redis before Log Out answers; the second instance's memory
                # of it goes when Redis's report of the change arrives. Up to 1,000 tries show how long
                # that takes.
                polls = 0
                while polls < 1000:
                    polls += 1
                    if 'id="btn-logout"' not in (await client.get(f"{second.url}/", headers=stolen)).text:
                        break
                done = time.perf_counter()
                times.append(((done - started) * 1000, (logged_out - started) * 1000, polls))
    finally:
        browser.close()
    return times


def measure_memory(running: Running, tenant: DevTenant, logins: int, forged: int) -> dict[str, float]:
    """VmRSS growth over `logins` SSO logins plus `forged` distinct forged cookies; and the growth
    over the logins alone per 1,000 of them (each leaves a live session: its record, its verified claims)."""
    name = running.app.name
    before = rss_mb(running.server.proc.pid)
    started = time.perf_counter()
    asyncio.run(many_logins(running.url, count=logins))
    logged_in = rss_mb(running.server.proc.pid)
    cookies = forged_cookies(running.app.cookie, forged, tenant.issuer, tenant.kid())
    sent = asyncio.run(send_all(running.port, (_get(running.port, cookie) for cookie in cookies)))
    assert sent == forged, (sent, forged)
    after = rss_mb(running.server.proc.pid)
    log(f"memory {name}: {before:.1f} -> {after:.1f} MB in {time.perf_counter() - started:.1f} s")
    return {
        f"rss_mb_{name}": round(after, 1),
        f"rss_growth_mb_{name}": round(after - before, 1),
        f"rss_per_1000_sessions_mb_{name}": round((logged_in - before) / max(logins, 1) * 1000, 2),
    }


@contextmanager
def redis_server(directory: Path) -> Iterator[str | None]:
    """A redis-server on a free port for the *_redis rows (the tests' helper), or None when not installed."""
    if not redis_server_path():
        yield None
        return
    with running_redis(directory) as url:
        yield url


def run(
    seconds: float,
    rounds: int,
    login_rounds: int,
    memory_logins: int,
    memory_forged: int,
    revocation_trials: int = REVOCATION_TRIALS,
) -> dict[str, object]:
    results: dict[str, object] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-tenant-") as state_dir:
        tenant = DevTenant(free_port(), state_dir)
        with process([*TENANT, "--port", str(tenant.port), "--state-dir", state_dir], os.environ.copy()) as server:
            wait_for(server, tenant.port, "/.well-known/openid-configuration")
            with ExitStack() as stack:
                # All apps run at once (an idle one costs nothing), so that rounds can alternate between them.
                # The steps start one at a time, each followed by a login, so that JWKS fetches can be told apart.
                running: dict[str, Running] = {}
                jwks: dict[str, int] = {}
                steps: tuple[App, ...] = STEPS
                redis_url = stack.enter_context(redis_server(Path(state_dir)))
                if redis_url:
                    steps += tuple(replace(app, env={"SESSION_STORE_URL": redis_url}) for app in REDIS_STEPS)
                else:
                    results["redis"] = "skipped: no redis-server on this machine (apt-get install redis-server)"
                for app in (*steps, *BASELINES):
                    log(f"starting {app.name}")
                    before = tenant.stats()["jwks"]
                    port = free_port()
                    app_server = stack.enter_context(process(*app_command(app, tenant, port)))
                    wait_for(app_server, port)
                    r = running[app.name] = Running(app, app_server, port)
                    r.cookie = asyncio.run(session_cookie(r.url, app.cookie))
                    jwks[app.name] = tenant.stats()["jwks"] - before
                # Each in-process check is a process of its own, with its own JWKS fetch: counted
                # before shared_start, so jwks_fetches stays about the servers under test.
                for app in steps:
                    log(f"session check in process: {app.name}")
                    r = running[app.name]
                    results.update(session_check(app, tenant, r.port, r.cookie, seconds, rounds))
                shared_start = tenant.stats()["jwks"]

                log("record stores alone")
                results.update(measure_records(Path(state_dir), redis_url, RECORD_READS, revocation_trials))
                results.update(measure_throughput(running, seconds, rounds))
                log("logins")
                results.update(measure_logins(running, login_rounds, seconds))
                # Any fetch from here on cannot be told apart, so it counts against every step: an upper bound.
                shared = tenant.stats()["jwks"] - shared_start
                results["jwks_fetches"] = max(jwks[app.name] for app in steps) + shared

                if redis_url:
                    log("revocation across two instances sharing Redis")
                    first = running["cookie_redis"]
                    port = free_port()
                    second_server = stack.enter_context(process(*app_command(first.app, tenant, port)))
                    wait_for(second_server, port)
                    second = Running(first.app, second_server, port)
                    trials = asyncio.run(revocation_latencies(first, second, revocation_trials))
                    ms = sorted(total for total, _, _ in trials)
                    results["revocation_ms_p50"] = round(statistics.median(ms), 2)
                    results["revocation_ms"] = round(ms[max(0, int(len(ms) * 0.95) - 1)], 2)
                    # Where it goes: the Log Out request itself, and the GETs until the copy is refused.
                    results["revocation_logout_ms_p50"] = round(statistics.median(t[1] for t in trials), 2)
                    results["revocation_polls_max"] = max(t[2] for t in trials)

                memory: dict[str, float] = {}
                for name in (*MEMORY_STEPS, *(f"{step}_redis" for step in MEMORY_STEPS if redis_url)):
                    memory.update(measure_memory(running[name], tenant, memory_logins, memory_forged))
                results["rss_growth_mb"] = max(
                    value for key, value in memory.items() if key.startswith("rss_growth_mb_")
                )
                results.update(memory)
                results["memory_logins"] = memory_logins
                results["memory_forged_cookies"] = memory_forged

            log("cold starts")
            cold = [cold_start(tenant, app) for app in STEPS for _ in range(COLD_STARTS)]
            results["cold_start_ms"] = round(statistics.median(cold), 1)
            # Without the dependencies' bytecode on disk (PYTHONDONTWRITEBYTECODE and no `uv sync
            # --compile-bytecode`: docs/troubleshooting.md) every start compiles them from source.
            results["cold_start_bytecode"] = has_bytecode("starlette.applications")
    import uvicorn

    results["server"] = f"uvicorn {uvicorn.__version__} (h11, asyncio), 1 worker; Python {platform.python_version()}"
    results["baseline_servers"] = (
        f"quickstart: Flask {version('flask')} development server (app.run, threaded); naive: uvicorn, 1 worker"
    )
    results["machine"] = f"{os.cpu_count()} cores; load generator on the same machine"
    results["seconds_per_round"] = seconds
    results["rounds"] = rounds
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure what a session costs in step 03 (both variants), beside the quickstart and naive baselines."
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each throughput round (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds over all apps (default 5)")
    parser.add_argument("--logins", type=int, default=200, help="sequential SSO logins per app for the latency figures")
    parser.add_argument(
        "--memory-logins", type=int, default=10_000, help="logins per step for rss_growth_mb (default 10000)"
    )
    parser.add_argument(
        "--memory-forged", type=int, default=10_000, help="forged session cookies per step for rss_growth_mb"
    )
    parser.add_argument(
        "--revocations", type=int, default=REVOCATION_TRIALS, help="logouts timed for revocation_ms (default 50)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the JSON object to PATH")
    parser.add_argument("--session-check", metavar="STEP", help=argparse.SUPPRESS)  # the child's mode
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    parser.add_argument(
        "--records-only",
        action="store_true",
        help="only the record stores' figures (record_get_us_*, record_revocation_ms): no apps, no tenant",
    )
    args = parser.parse_args(argv)
    if args.records_only:
        with tempfile.TemporaryDirectory(prefix="bench-records-") as directory, redis_server(Path(directory)) as url:
            figures = measure_records(Path(directory), url, RECORD_READS, args.revocations)
        print(json.dumps(figures, indent=2))
        return 0
    if args.session_check:
        check = _session_check_in_process(args.session_check, args.cookie, args.seconds, args.rounds)
        print(json.dumps(asyncio.run(check)))
        return 0
    results = run(args.seconds, args.rounds, args.logins, args.memory_logins, args.memory_forged, args.revocations)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
