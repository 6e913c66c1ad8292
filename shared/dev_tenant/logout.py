"""GET /v2/logout (Auth0's own) and /oidc/logout (OpenID Connect RP-initiated logout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from joserfc import jwk, jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import pages
from .authorize import SESSION_COOKIE, redirect_to_client
from .enforcement import logged_out, logout_refused
from .errors import OAuthError
from .params import read_params

if TYPE_CHECKING:
    from .tenant import Tenant


class Logout:
    """Both logouts end the tenant's SSO session first, whatever happens next, as Auth0 does."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def routes(self) -> list[Route]:
        return [
            Route("/v2/logout", self.logout_v2),
            Route("/oidc/logout", self.logout_oidc, methods=["GET", "POST"]),
        ]

    async def _end_session(
        self, request: Request, target: Response, client_id: str | None = None, refused: bool = False
    ) -> Response:
        sid = request.cookies.get(SESSION_COOKIE)
        ended = self.tenant.sessions.pop(sid) if sid else None
        if not refused:  # a refused return URL is logged as the failed logout it is (enforcement.py)
            logged_out(self.tenant, request, ended, client_id)
        if ended is not None:  # the apps holding it hear about it before the browser goes back to one of them
            await self.tenant.backchannel.session_ended(ended)
        target.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return target

    async def logout_v2(self, request: Request) -> Response:
        params = request.query_params
        return_to = params.get("returnTo")
        if not return_to:
            return await self._end_session(request, pages.logged_out_page())
        client_id = params.get("client_id", "")
        client = self.tenant.clients.get(client_id)
        if client is None or not client.allows_logout(return_to):
            page = logout_refused(self.tenant, request, client_id, '"returnTo" querystring parameter', return_to)
            return await self._end_session(request, page, client_id, refused=True)
        return await self._end_session(request, RedirectResponse(return_to, status_code=302), client_id)

    async def logout_oidc(self, request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            try:
                params.update(await read_params(request, json_ok=False))
            except OAuthError as exc:  # not a form (OIDC RP-Initiated Logout §2), too large, not UTF-8
                return pages.message_page(
                    "Oops!, something went wrong", exc.description, error=exc.error, status_code=exc.status
                )
        target = params.get("post_logout_redirect_uri")
        if not target:
            return await self._end_session(request, pages.logged_out_page())
        client_id = params.get("client_id") or self._client_from_hint(params.get("id_token_hint"))
        client = self.tenant.clients.get(client_id or "")
        if client is None or not client.allows_logout(target):
            page = logout_refused(self.tenant, request, client_id, '"post_logout_redirect_uri" parameter', target)
            return await self._end_session(request, page, client_id, refused=True)
        # Back to exactly the registered URL: no empty "?" when there is no state to carry.
        state = params.get("state")
        back = redirect_to_client(target, {"state": state}) if state else RedirectResponse(target, status_code=302)
        return await self._end_session(request, back, client_id)

    def _client_from_hint(self, hint: str | None) -> str | None:
        """The client an id_token we signed was for; expired hints count, as the spec allows."""
        if not hint:
            return None
        try:
            token = jwt.decode(hint, jwk.KeySet(list(self.tenant.keys.keys)), algorithms=["RS256"])
        except Exception:  # a hint that does not decode names no client: the page explains the rest
            return None
        aud = token.claims.get("aud")
        if isinstance(aud, list):
            aud = aud[0] if len(aud) == 1 else token.claims.get("azp")
        return aud if isinstance(aud, str) else None
