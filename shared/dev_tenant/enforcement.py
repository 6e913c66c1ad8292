"""How the tenant refuses what the dashboard's settings do not allow, in Auth0's words, and logs it.

Each refusal names the setting to change and where (the dashboard), so that running a step on a port
the tutorial's settings do not list is one click away from working, as on Auth0 it is one visit to the
application's settings. The endpoints call these; the decisions themselves are the Client's
(clients.py), built from the settings (settings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .dashboard import refused_page
from .logs import bounded
from .oauth_errors import OAuthError
from .settings import SettingsError, check_url

if TYPE_CHECKING:
    from .models import SsoSession
    from .server import DevTenant

CALLBACK_MISMATCH = "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs."
CONNECTION_DISABLED = "the connection is not enabled"


def _addable(prop: str, url: str) -> bool:
    try:
        check_url(prop, url)
    except SettingsError:
        return False
    return True


def callback_mismatch(tenant: DevTenant, request: Request, client_id: str, redirect_uri: str) -> Response:
    """/authorize with a redirect_uri outside Allowed Callback URLs: a page, never a redirect."""
    shown = bounded(redirect_uri)
    tenant.logs.record(
        "f",
        f"Callback URL mismatch. {shown or '(no redirect_uri)'} is not in the list of allowed callback URLs",
        request=request,
        client_id=client_id,
        details={"redirect_uri": shown},
    )
    if redirect_uri and _addable("callbacks", redirect_uri):
        hint = (
            f"The app sent redirect_uri {shown}. Add it to Allowed Callback URLs on the dev tenant's dashboard "
            f"({tenant.dashboard_url}; on Auth0: Applications → your application → Settings), Save Changes, "
            "and log in again — or fix the app's redirect_uri."
        )
    else:
        hint = f"The app sent redirect_uri {shown or '(none)'}, which is not a URL a login can go back to: fix the app."
    return refused_page(tenant, "Callback URL mismatch", "invalid_request", CALLBACK_MISMATCH, hint)


def connection_disabled(
    tenant: DevTenant, request: Request, client_id: str, connection: str, fail: Callable[[str, str], RedirectResponse]
) -> Response:
    """A login through a connection the application does not have enabled: back to the app, as Auth0 does."""
    tenant.logs.record(
        "f",
        CONNECTION_DISABLED,
        request=request,
        client_id=client_id,
        connection=connection,
        details={"hint": f"enable {connection} under Connections on {tenant.dashboard_url}"},
    )
    return fail("invalid_request", CONNECTION_DISABLED)


def logout_refused(tenant: DevTenant, request: Request, client_id: str | None, parameter: str, url: str) -> Response:
    """A return URL outside Allowed Logout URLs: Auth0's page, never an open redirect."""
    shown = bounded(url)
    description = f'The {parameter} "{shown}" is not defined as a valid URL in "Allowed Logout URLs".'
    tenant.logs.record("flo", description, request=request, client_id=client_id, details={"return_to": shown})
    if not client_id or client_id not in tenant.clients:
        hint = (
            "Pass the application's client_id with the logout: the URL is checked against that application's "
            f"Allowed Logout URLs, which you find on the dev tenant's dashboard ({tenant.dashboard_url})."
        )
    elif _addable("allowed_logout_urls", url):
        hint = (
            f"Add {shown} to Allowed Logout URLs on the dev tenant's dashboard ({tenant.dashboard_url}; on Auth0: "
            "Applications → your application → Settings) and Save Changes."
        )
    else:
        hint = "This is not a URL a logout can return to: fix the app."
    return refused_page(tenant, "Oops!, something went wrong", "invalid_request", description, hint)


def logged_out(tenant: DevTenant, request: Request, ended: SsoSession | None, client_id: str | None) -> None:
    tenant.logs.record(
        "slo",
        "" if ended is not None else "No session at the tenant to end",
        request=request,
        client_id=client_id,
        user=ended.user if ended is not None else None,
    )


def password_connection_disabled(client_connections: tuple[str, ...], realm: str) -> None:
    """The password grants log in through the database connection: refused when it is not enabled."""
    if realm not in client_connections:
        raise OAuthError(400, "invalid_request", CONNECTION_DISABLED)
