"""What the console shows about the dev tenant: where it is and how to log in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .defaults import DEMO_EMAIL, DEMO_PASSWORD, DEV_CLIENT_ID

if TYPE_CHECKING:  # only for the annotation: a step reusing a running tenant imports this, not the provider
    from .server import DevTenant


def details(issuer: str, state_dir: Path) -> list[str]:
    """The lines a learner needs to log in, the same whether this process runs the tenant or reuses one."""
    return [
        f"  issuer:    {issuer}",
        f"  dashboard: {issuer}dashboard  (Applications → Settings, Monitoring → Logs)",
        f"  client_id: {DEV_CLIENT_ID}",
        f"  demo user: {DEMO_EMAIL}",
        f"  password:  {DEMO_PASSWORD}",
        f"  state dir: {state_dir}",
    ]


def banner(tenant: DevTenant) -> str:
    """Where the tenant is and how to log in."""
    lines = ["Dev tenant (local stand-in for Auth0) is running", *details(tenant.issuer, tenant.state_dir)]
    if tenant.settings.problem:  # a damaged settings.json: said at start, in one line, never a traceback
        lines.append(f"  settings:  {tenant.settings.problem}")
    return "\n".join(lines)
