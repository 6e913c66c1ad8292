"""Benchmark: what a session costs, measured side by side, against the dev tenant on loopback.

    uv run python benchmarks/run.py                 # about a minute; prints one JSON object
    uv run python benchmarks/run.py --json out.json # also save it
    uv run python benchmarks/run.py --seconds 0.3   # a quick smoke run (the test suite does this)

It starts the dev tenant (wrapped to count JWKS fetches) and each step-03 variant as their own
processes, then drives them from this process with a small keep-alive HTTP/1.1 load generator
(raw asyncio sockets: a heavier client would eat the CPU the servers need and flatten the ratios).
Figures are ratios measured in one run, alternating rounds so that both sides see the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx2

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "cookie": "03-Session-Handling/cookie_app.py",
    "wrapper": "03-Session-Handling/wrapper_app.py",
}
TENANT = [sys.executable, str(Path(__file__).with_name("tenant_with_stats.py"))]
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-Passw0rd"
COLD_STARTS = 3  # per variant; the figure is the median of them all
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_200(port: int, path: str) -> bool:
    """One GET over a raw socket: building an HTTP client per poll would distort the cold-start figure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def wait_for(port: int, path: str = "/", timeout: float = 30) -> float:
    """Poll until the server on `port` answers 200; return the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if answers_200(port, path):
            return time.perf_counter() - start
        time.sleep(0.002)
    raise RuntimeError(f"port {port} did not answer {path} within {timeout} s")


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- load generator -------------------------------------------------------------------------------


async def _worker(port: int, request: bytes, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if head[9:12] != b"200":
                raise RuntimeError(f"unexpected answer: {head[:200]!r}")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            done += 1
    finally:
        writer.close()
    return done


async def throughput(port: int, cookie: str | None, seconds: float, connections: int = 8) -> float:
    """Requests per second of GET / with keep-alive connections."""
    headers = f"GET / HTTP/1.1\r\nHost: localhost:{port}\r\n"
    if cookie:
        headers += f"Cookie: {cookie}\r\n"
    request = (headers + "\r\n").encode()
    start = time.perf_counter()
    counts = await asyncio.gather(*(_worker(port, request, start + seconds) for _ in range(connections)))
    return sum(counts) / (time.perf_counter() - start)


# --- logins ---------------------------------------------------------------------------------------


def _form_fields(html: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]*)"', html).group(1)
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    return action, fields


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
        raise RuntimeError("password login did not end logged in")


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
        status, location, length = int(head[9:12]), "", 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "location":
                location = urljoin(url, value)
            elif name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "max-age=0" in value.lower() or "1970" in value or val in ("", '""', "null"):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        await reader.readexactly(length)
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


async def measure_logins(app: str, rounds: int, seconds: float) -> dict[str, float]:
    async with httpx2.AsyncClient(timeout=10) as client:
        started = time.perf_counter()
        await password_login(client, app)
        first_password_ms = (time.perf_counter() - started) * 1000
        password_ms = [first_password_ms]
        for _ in range(max(2, rounds // 20)):
            started = time.perf_counter()
            client.cookies.clear()
            await password_login(client, app)
            password_ms.append((time.perf_counter() - started) * 1000)
    browser = await logged_in_browser(app)
    await sso_login(browser, app)  # warm
    sso_ms = []
    for _ in range(rounds):
        started = time.perf_counter()
        await sso_login(browser, app)
        sso_ms.append((time.perf_counter() - started) * 1000)
    browser.close()

    browsers = await asyncio.gather(*(logged_in_browser(app) for _ in range(8)))
    try:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def loop(browser: RawBrowser) -> int:
            count = 0
            while time.perf_counter() < deadline:
                await sso_login(browser, app)
                count += 1
            return count

        total = sum(await asyncio.gather(*(loop(b) for b in browsers)))
        per_second = total / (time.perf_counter() - started)
    finally:
        for browser in browsers:
            browser.close()
    sso_ms.sort()
    return {
        "login_ms_p50": round(statistics.median(sso_ms), 2),
        "login_ms_p95": round(sso_ms[int(len(sso_ms) * 0.95) - 1], 2),
        "password_login_ms_p50": round(statistics.median(password_ms), 1),
        "logins_per_s_8": round(per_second, 1),
    }


async def session_cookie(app: str, name: str) -> str:
    async with httpx2.AsyncClient(timeout=10) as client:
        await password_login(client, app)
        return f"{name}={client.cookies[name]}"


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Tenant:
    port: int
    state_dir: str

    def stats(self) -> dict[str, int]:
        return httpx2.get(f"http://127.0.0.1:{self.port}/__bench/stats").json()


def app_env(tenant: Tenant, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "APP_"))}
    env.update(PORT=str(port), DEV_TENANT_PORT=str(tenant.port), DEV_TENANT_STATE_DIR=tenant.state_dir)
    return env


def cold_start(tenant: Tenant, path: str) -> float:
    """Milliseconds from launching the step's process (python, not `uv run`) to its first 200."""
    port = free_port()
    started = time.perf_counter()
    with process([sys.executable, str(ROOT / path)], app_env(tenant, port)):
        wait_for(port)
        return (time.perf_counter() - started) * 1000


def run(seconds: float, rounds: int, login_rounds: int) -> dict[str, object]:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tenant-") as state_dir:
        tenant = Tenant(free_port(), state_dir)
        with process([*TENANT, "--port", str(tenant.port), "--state-dir", state_dir], os.environ.copy()):
            wait_for(tenant.port, "/.well-known/openid-configuration")
            anon: list[float] = []
            cold: list[float] = []
            jwks: list[int] = []
            for variant, path in VARIANTS.items():
                for _ in range(COLD_STARTS):
                    cold.append(cold_start(tenant, path))
                port = free_port()
                before = tenant.stats()["jwks"]
                with process([sys.executable, str(ROOT / path)], app_env(tenant, port)):
                    wait_for(port)
                    app = f"http://localhost:{port}"
                    cookie_name = "step03_cookie_id_token" if variant == "cookie" else "step03_wrapper_session"
                    cookie = asyncio.run(session_cookie(app, cookie_name))
                    anon_rounds, session_rounds = [], []
                    asyncio.run(throughput(port, None, min(seconds, 0.5)))  # warm-up
                    for _ in range(rounds):  # alternate, so both sides see the same machine
                        anon_rounds.append(asyncio.run(throughput(port, None, seconds)))
                        session_rounds.append(asyncio.run(throughput(port, cookie, seconds)))
                    anon.extend(anon_rounds)
                    results[f"session_rps_{variant}"] = round(statistics.median(session_rounds), 1)
                    results[f"anon_rps_{variant}"] = round(statistics.median(anon_rounds), 1)
                    results[f"session_ratio_{variant}"] = round(
                        statistics.median(s / a for s, a in zip(session_rounds, anon_rounds, strict=False)), 3
                    )
                    if variant == "cookie":
                        results.update(asyncio.run(measure_logins(app, login_rounds, seconds)))
                jwks.append(tenant.stats()["jwks"] - before)
            results["anon_rps"] = round(statistics.median(anon), 1)
            results["jwks_fetches"] = max(jwks)
            results["cold_start_ms"] = round(statistics.median(cold), 1)
    import uvicorn

    results["server"] = f"uvicorn {uvicorn.__version__} (h11, asyncio), 1 worker; Python {platform.python_version()}"
    results["machine"] = f"{os.cpu_count()} cores; load generator on the same machine"
    results["seconds_per_round"] = seconds
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure what a session costs in step 03 (both variants).")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each throughput round (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating anonymous/session rounds per variant (default 5)"
    )
    parser.add_argument("--logins", type=int, default=200, help="sequential SSO logins for the latency figures")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the JSON object to PATH")
    args = parser.parse_args(argv)
    results = run(args.seconds, args.rounds, args.logins)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
