"""`python -m shared.dev_tenant`: run the dev tenant on its own."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from . import DEFAULT_PORT, DevTenant, banner, default_state_dir
from .settings import SettingsStore


def port_problem(host: str, port: int) -> str | None:
    """Why the tenant could not listen on host:port, or None when it can."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As uvicorn does: connections of the tenant just stopped (TIME-WAIT) do not make the port busy.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.dev_tenant",
        description="Run the local, Auth0-compatible dev tenant (OpenID Connect provider).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="folder for keys, users and the dev client's secret (default: $DEV_TENANT_STATE_DIR or .dev-tenant/)",
    )
    parser.add_argument(
        "--unblock",
        metavar="EMAIL",
        help="lift the lock-out of EMAIL after too many wrong passwords (a running tenant sees it at once), then exit",
    )
    parser.add_argument(
        "--reset-settings",
        action="store_true",
        help="restore the tutorial's application settings (the dashboard's URLs, grant types, connections), then exit",
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")
    if args.unblock:
        # Failed-login counts live in the tenant's SQLite file, so another process can reset them.
        DevTenant(f"http://localhost:{args.port}/", args.state_dir or default_state_dir()).unblock_user(args.unblock)
        print(f"dev tenant: {args.unblock} can log in again")
        return 0

    if args.reset_settings:
        # A file of its own: the running tenant reads it again when it changes, as after a dashboard save.
        store = SettingsStore(args.state_dir or default_state_dir())
        store.reset()
        print(f"dev tenant: the tutorial's settings are restored in {store.path}")
        return 0

    # Check the port before building anything, so a busy port is one clear line, not a traceback.
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return 1

    tenant = DevTenant(f"http://localhost:{args.port}/", args.state_dir or default_state_dir())
    print(banner(tenant), flush=True)
    try:
        uvicorn.run(tenant.app, host=args.host, port=args.port, log_level="warning")
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
