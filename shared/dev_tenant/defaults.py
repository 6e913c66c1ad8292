"""What a step needs to know about the dev tenant, without importing the provider itself.

A step that reuses a running dev tenant, or talks to a real Auth0 tenant, imports only this.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

DEFAULT_PORT = 4000
DEV_CLIENT_ID = "tutorial-app"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-Passw0rd"
DATABASE_CONNECTION = "Username-Password-Authentication"
GOOGLE_CONNECTION = "google-oauth2"


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent.parent


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the tenant keeps keys, users and the dev client's secret: $DEV_TENANT_STATE_DIR or .dev-tenant/."""
    configured = (os.environ if env is None else env).get("DEV_TENANT_STATE_DIR")
    return Path(configured) if configured else _repo_root() / ".dev-tenant"


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the owner only (0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def stored_secret(path: Path) -> str:
    """A random secret made on first use and kept in `path` (0600), so restarts keep using it."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    secret = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process got there first: use its secret.
        for _ in range(50):
            existing = path.read_text(encoding="utf-8").strip()
            if existing:
                return existing
            time.sleep(0.01)
        write_private_file(path, secret)
        return secret
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def dev_client_secret(state_dir: Path) -> str:
    """The built-in client's secret: generated on first use, then read back from state_dir."""
    return stored_secret(Path(state_dir) / "client_secret")
