"""POST /oauth/token: read the body, authenticate the client, hand over to the grant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .authenticate_client import authenticate_client
from .clients import DEFAULT_GRANTS
from .defaults import DATABASE_CONNECTION
from .enforcement import password_connection_disabled
from .flow_log import exchange_facts, log_exchange
from .grants.password import password_grant
from .oauth_errors import OAuthError
from .params import Params, param, read_params

if TYPE_CHECKING:
    from .server import DevTenant


class TokenEndpoint:
    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        return [Route("/oauth/token", self.token, methods=["POST"])]

    async def token(self, request: Request) -> Response:
        body: Params = {}
        facts: dict[str, Any] = {}
        try:
            body = await read_params(request)
            facts = exchange_facts(self.tenant, body)  # before the code is used up
            response = await self._token(request, body)
        except OAuthError as exc:
            log_exchange(self.tenant, request, body, exc, facts)
            return exc.response()
        log_exchange(self.tenant, request, body, None, facts)
        return response

    async def _token(self, request: Request, body: Params) -> Response:
        client = authenticate_client(request, body, self.tenant.clients)
        grant = param(body, "grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        if grant not in DEFAULT_GRANTS or (self.tenant.generic and grant != "authorization_code"):
            raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        if grant not in client.grant_types:
            raise OAuthError(403, "unauthorized_client", f"Grant type '{grant}' not allowed for the client.")
        if grant != "authorization_code":
            password_connection_disabled(client.connections, param(body, "realm") or DATABASE_CONNECTION)
        if grant == "authorization_code":
            # Through the façade, so that tests/security can watch every code exchanged.
            return self.tenant._code_grant(client, body)
        return await password_grant(self.tenant, client, body, grant)
