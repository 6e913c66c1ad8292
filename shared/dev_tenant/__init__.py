"""The dev tenant: a local, Auth0-compatible OpenID Connect provider (the embedded default).

    tenant = DevTenant("http://localhost:4000/")
    uvicorn.run(tenant.app, port=4000)

The provider (DevTenant, Client, Faults, banner) is imported on first use: a step that talks to a real
tenant, or reuses a dev tenant already running, needs only the defaults and starts ~0.1 s sooner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .defaults import (
    DATABASE_CONNECTION,
    DEFAULT_PORT,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEV_CLIENT_ID,
    GOOGLE_CONNECTION,
    default_state_dir,
    dev_client_secret,
)

if TYPE_CHECKING:
    from .server import Client, DevTenant, Faults, SentLogoutToken

_PROVIDER = {
    "Client": ".server",
    "Faults": ".server",
    "SentLogoutToken": ".server",
    "DevTenant": ".server",
    "banner": ".console",
}


def __getattr__(name: str) -> Any:
    if name in _PROVIDER:
        return getattr(importlib.import_module(_PROVIDER[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATABASE_CONNECTION",
    "DEFAULT_PORT",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEV_CLIENT_ID",
    "GOOGLE_CONNECTION",
    "Client",
    "DevTenant",
    "Faults",
    "SentLogoutToken",
    "banner",
    "default_state_dir",
    "dev_client_secret",
]
