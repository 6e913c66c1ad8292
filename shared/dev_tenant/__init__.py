"""The dev tenant: a local, Auth0-compatible OpenID Connect provider (the embedded default).

    tenant = Tenant("http://localhost:4000/")
    uvicorn.run(tenant.app, port=4000)
"""

from __future__ import annotations

from .tenant import (
    DATABASE_CONNECTION,
    DEFAULT_PORT,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEV_CLIENT_ID,
    GOOGLE_CONNECTION,
    Client,
    Faults,
    Tenant,
    default_state_dir,
    dev_client_secret,
)


def banner(tenant: Tenant) -> str:
    """What the console shows at start: where the tenant is and how to log in."""
    return "\n".join(
        [
            "Dev tenant (local stand-in for Auth0) is running",
            f"  issuer:    {tenant.issuer}",
            f"  client_id: {DEV_CLIENT_ID}",
            f"  demo user: {DEMO_EMAIL}",
            f"  password:  {DEMO_PASSWORD}",
            f"  state dir: {tenant.state_dir}",
        ]
    )


__all__ = [
    "DATABASE_CONNECTION",
    "DEFAULT_PORT",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEV_CLIENT_ID",
    "GOOGLE_CONNECTION",
    "Client",
    "Faults",
    "Tenant",
    "banner",
    "default_state_dir",
    "dev_client_secret",
]
