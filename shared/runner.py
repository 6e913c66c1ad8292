"""Run a step from the command line: the app on PORT, and the dev tenant beside it when no tenant is configured."""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette

from shared.config import ConfigError, Settings, load_settings

BIND_HOST = "127.0.0.1"  # loopback only: the dev tenant and these apps are for one developer's machine


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
    try:
        with urllib.request.urlopen(f"{issuer}.well-known/openid-configuration", timeout=1) as response:  # noqa: S310 (the configured http(s) issuer)
            return json.load(response).get("issuer")
    except (OSError, ValueError, AttributeError):
        return None


def start_dev_tenant(settings: Settings) -> tuple[uvicorn.Server | None, str]:
    """Reuse a dev tenant already running for this issuer, or start one in a background thread."""
    port = urlsplit(settings.issuer).port or 80
    if _port_is_free(port):
        from shared.dev_tenant import Tenant, banner  # only now: reusing a running tenant needs neither

        tenant = Tenant(settings.issuer, settings.state_dir)
        server = uvicorn.Server(uvicorn.Config(tenant.app, host=BIND_HOST, port=port, log_level="warning"))
        threading.Thread(target=server.run, name="dev-tenant", daemon=True).start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return server, banner(tenant)
    if _running_tenant_issuer(settings.issuer) == settings.issuer:
        return None, f"Reusing the dev tenant already running at {settings.issuer}"
    raise ConfigError(f"Port {port} is taken by something that is not the dev tenant; stop it or set DEV_TENANT_PORT.")


def run_step(create_app: Callable[[Settings], Starlette], description: str, *, where_to_click: str) -> None:
    """The `uv run <step>/app.py` entry point: parse --help/--port, check the config, serve."""
    parser = argparse.ArgumentParser(
        description=f"{description}. Serves the app on http://localhost:3000/ (or --port); open it and {where_to_click}",
        epilog=(
            "Without AUTH0_DOMAIN it also starts the bundled dev tenant on http://localhost:4000/ and prints its "
            "demo user. With AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and APP_SECRET_KEY (environment "
            "or .env) it uses that Auth0 tenant; check them first with: uv run python -m shared.check"
        ),
    )
    parser.add_argument("--port", type=int, help="port for the app (default: $PORT or 3000)")
    args = parser.parse_args()
    environ = None
    if args.port is not None:
        import os

        environ = {**os.environ, "PORT": str(args.port)}
    try:
        settings = load_settings(environ)
        if not _port_is_free(settings.port):
            raise ConfigError(f"Port {settings.port} is already in use: stop the other app or pass --port 3001.")
        tenant_server, tenant_banner = start_dev_tenant(settings) if settings.embedded else (None, "")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

    print(f"\n{description}\n")
    print(f"  Open {settings.base_url}/ and {where_to_click}")
    if settings.embedded:
        print(f"\n  {tenant_banner.replace(chr(10), chr(10) + '  ')}")
    else:
        print(f"  Auth0 tenant: {settings.issuer}")
    print("\n  Press Ctrl-C to stop.\n", flush=True)

    app = create_app(settings)
    uvicorn.Server(uvicorn.Config(app, host=BIND_HOST, port=settings.port, log_level="warning")).run()
    if tenant_server is not None:
        tenant_server.should_exit = True
