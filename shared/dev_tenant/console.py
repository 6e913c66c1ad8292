"""What the console shows when the dev tenant starts."""

from __future__ import annotations

from .defaults import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID
from .tenant import Tenant


def banner(tenant: Tenant) -> str:
    """Where the tenant is and how to log in."""
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
