"""Run a step from the command line: the app on PORT, and the dev tenant beside it when no tenant is configured."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette

from shared.config import (
    ConfigError,
    Settings,
    env_file_warning,
    ignored_env_files,
    is_loopback,
    load_settings,
    plain_http_fix,
    plain_http_issuer,
)

BIND_HOST = "127.0.0.1"  # loopback only: the dev tenant and these apps are for one developer's machine
STOP_WITHIN = 5  # seconds a request still running may hold up the stop (uvicorn: timeout_graceful_shutdown)


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((BIND_HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _running_tenant_issuer(issuer: str) -> str | None:
    """The issuer a server already answering at `issuer` claims, or None if nothing answers."""
    # A plain http call on loopback; urllib avoids building an HTTP client with a CA store at start-up.
    # The timeout leaves room for a tenant another step is still starting (its port already listens).
    try:
        with urllib.request.urlopen(f"{issuer}.well-known/openid-configuration", timeout=5) as response:  # noqa: S310 (the configured http(s) issuer)
            claimed = json.load(response).get("issuer")
    except (OSError, ValueError, AttributeError):
        return None
    return claimed if isinstance(claimed, str) else None


def _refuse_plain_http(issuer: str) -> None:
    """Raise ConfigError when an https issuer on this machine speaks plain http (AUTH0_DOMAIN=localhost:4000)."""
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not is_loopback(parts.hostname or ""):
        return
    # Whether the port speaks TLS at all, so no certificate check (and no CA store to load); the app's
    # own client verifies the certificate of every real request.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((parts.hostname, parts.port or 443), timeout=2) as sock,
            context.wrap_socket(sock, server_hostname=parts.hostname),
        ):
            return
    except OSError as error:  # nothing listening yet is for the first page to say, once it is needed
        http_issuer = plain_http_issuer(issuer, error)
        if http_issuer:
            raise ConfigError(f"The tenant at {issuer} answered, but {plain_http_fix(http_issuer)}.") from None


def _claim_port(port: int) -> socket.socket | None:
    """A socket listening on BIND_HOST:port, or None when another socket already listens there."""
    sock = socket.socket()
    if sys.platform != "win32":
        # Bind despite the previous tenant's connections in TIME_WAIT; a live listener still refuses us.
        # (On Windows this option would let two sockets share the port, so it is left off there.)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((BIND_HOST, port))
        # Listen at once: two sockets may bind with SO_REUSEADDR, but only one can listen, so two
        # steps racing for the port cannot both win. Requests queue in the backlog until uvicorn serves.
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            return None
        raise
    return sock


def _reuse_banner(settings: Settings) -> str:
    """The start banner's lines for a tenant another process runs (same state folder, same demo user)."""
    from shared.dev_tenant.console import details  # the defaults only: reusing a tenant does not import the provider

    heading = f"Reusing the dev tenant already running at {settings.issuer}"
    return "\n".join([heading, *details(settings.issuer, settings.state_dir)])


def _indented(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


class StepServer(uvicorn.Server):
    """uvicorn's server, for which a second Ctrl-C while it stops changes nothing.

    uvicorn makes a second Ctrl-C a forced stop that skips the app's lifespan shutdown; Starlette then
    reports the lifespan it cancels as a traceback, in every step. The stop cannot hang (STOP_WITHIN),
    so there is nothing to force. This overrides uvicorn's signal handler, `handle_exit`, an internal
    detail: tests/integration/test_ctrl_c.py presses Ctrl-C twice and fails if an upgrade changes it.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            return
        super().handle_exit(sig, frame)


class DevTenantKeeper:
    """Keeps a dev tenant answering at the issuer's port for as long as this step runs.

    The first step started serves the tenant in a thread; later steps reuse it. When the step serving
    it stops, its tenant stops too, so every step reusing it tries each second to claim the port and
    the one that gets it serves the tenant from then on. The state folder (keys, users, the client's
    secret) carries over; only logins half-way through the hosted page and tenant SSO sessions are lost.
    """

    CLAIM_EVERY = 1.0  # seconds between attempts; a bind attempt costs one system call

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = urlsplit(settings.issuer).port or 80
        self.server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> str:
        """Serve the tenant here, or reuse the one running and watch it; return the banner to print."""
        sock = _claim_port(self.port)
        if sock is not None:
            return self._serve(sock)
        if _running_tenant_issuer(self.settings.issuer) != self.settings.issuer:
            raise ConfigError(
                f"Port {self.port} is taken by something that is not the dev tenant; stop it or set DEV_TENANT_PORT."
            )
        threading.Thread(target=self._take_over_when_gone, name="dev-tenant-keeper", daemon=True).start()
        return _reuse_banner(self.settings)

    def stop(self) -> None:
        """Stop serving the tenant, and wait until its port is free for the next step to take."""
        self._stopped.set()
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _serve(self, sock: socket.socket) -> str:
        from shared.dev_tenant import DevTenant, banner  # only now: reusing a running tenant needs neither

        tenant = DevTenant(self.settings.issuer, self.settings.state_dir)
        with _uninterrupted():
            self.server = uvicorn.Server(uvicorn.Config(tenant.app, log_level="warning"))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="dev-tenant", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        text: str = banner(tenant)
        return text

    def _take_over_when_gone(self) -> None:
        while not self._stopped.wait(self.CLAIM_EVERY):
            sock = _claim_port(self.port)
            if sock is None:
                continue  # the tenant (or whichever step took it over) still listens
            text = self._serve(sock)
            print(
                f"\n  The step that ran the dev tenant has stopped; this step runs it now (same users and keys).\n\n"
                f"{_indented(text)}\n",
                flush=True,
            )
            return


def run_step(create_app: Callable[[Settings], Starlette], description: str, *, where_to_click: str) -> None:
    """The `uv run <step>/app.py` entry point: parse --help/--port, check the config, serve."""
    parser = argparse.ArgumentParser(
        prog=sys.argv[0],  # as typed, e.g. 01-Login/app.py: every step's file is called app.py
        description=f"{description}. Serves the app on http://localhost:3000/ (or --port); open it and {where_to_click}",
        epilog=(
            "Without AUTH0_DOMAIN it also starts the bundled dev tenant on http://localhost:4000/ "
            "(DEV_TENANT_PORT=4001 moves it) and prints its demo user; the tenant keeps its keys and users in "
            ".dev-tenant/ (or DEV_TENANT_STATE_DIR). With AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and "
            "APP_SECRET_KEY it uses that Auth0 tenant; check them first with: uv run python -m shared.doctor. "
            "Every setting comes from the environment or from .env at the project root (see .env.example)."
        ),
    )
    parser.add_argument("--port", type=int, help="port for the app (default: $PORT or 3000)")
    args = parser.parse_args()
    environ = None
    if args.port is not None:
        import os

        environ = {**os.environ, "PORT": str(args.port)}
    for ignored in ignored_env_files(Path(sys.argv[0]).parent, Path.cwd()):
        print(f"{parser.prog}: warning: {env_file_warning(ignored)}", file=sys.stderr)
    tenant: DevTenantKeeper | None = None
    signal.signal(signal.SIGINT, _interrupt_once)
    try:
        settings = load_settings(environ)
        if not _port_is_free(settings.port):
            raise ConfigError(f"Port {settings.port} is already in use: stop the other app or pass --port 3001.")
        _refuse_plain_http(settings.issuer)
        tenant = DevTenantKeeper(settings) if settings.embedded else None
        tenant_banner = tenant.start() if tenant is not None else ""
        _print_banner(settings, description, where_to_click, tenant_banner)
        app = create_app(settings)
        with _uninterrupted():
            config = uvicorn.Config(
                app, host=BIND_HOST, port=settings.port, log_level="warning", timeout_graceful_shutdown=STOP_WITHIN
            )
        server = StepServer(config)
        # A Ctrl-C from here until uvicorn has put its own handler in place, or after it removes it,
        # stops the server as uvicorn's handler would, instead of interrupting it half-way.
        signal.signal(signal.SIGINT, lambda sig, frame: setattr(server, "should_exit", True))
        server.run()
    except ConfigError as error:
        # argparse's form for every command of this project: `PROG: error: what to change`.
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    except KeyboardInterrupt:  # Ctrl-C while the step starts (_interrupt_once): a stop, not a traceback
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping already
        if tenant is not None:
            tenant.stop()
    print(f"{description} stopped.", flush=True)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done, then deliver it.

    uvicorn.Config sets up logging in two steps: its dictConfig puts uvicorn's loggers at INFO, then
    `log_level` lowers them. A Ctrl-C raised between the two (_interrupt_once) left them at INFO, and
    the stop that followed printed uvicorn's shutdown lines.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _interrupt_once(sig: int, frame: FrameType | None) -> None:
    """Ctrl-C while the step starts: stop; from then on, a Ctrl-C would only interrupt the stop itself
    with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _print_banner(settings: Settings, description: str, where_to_click: str, tenant_banner: str) -> None:
    print(f"\n{description}\n")
    print(f"  Open {settings.base_url}/ and {where_to_click}")
    if settings.embedded:
        print(f"\n{_indented(tenant_banner)}")
    else:
        print(f"  Auth0 tenant: {settings.issuer}")
    print("\n  Press Ctrl-C to stop.\n", flush=True)
