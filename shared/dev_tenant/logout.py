"""GET /v2/logout (Auth0's own) and /oidc/logout (OpenID Connect RP-initiated logout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from joserfc import jwk, jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import templating
from .authorize import SESSION_COOKIE, redirect_to_client
from .enforcement import logged_out, logout_refused
from .logout_confirmation import CARRIED, CONFIRM_PATH, LogoutConfirmation, declined, expired
from .oauth_errors import OAuthError
from .params import read_params

if TYPE_CHECKING:
    from .server import DevTenant


class Logout:
    """Both logouts end the tenant's SSO session first, whatever happens next, as Auth0 does — once the
    request has shown it means this browser's session, or the user has confirmed (logout_confirmation.py)."""

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant
        self.confirmation = LogoutConfirmation(tenant)

    def routes(self) -> list[Route]:
        return [
            Route("/v2/logout", self.logout_v2),
            Route("/oidc/logout", self.logout_oidc, methods=["GET", "POST"]),
            Route(CONFIRM_PATH, self.confirm, methods=["POST"]),
        ]

    async def _end_session(
        self,
        request: Request,
        target: Response,
        params: Mapping[str, Any],
        *,
        confirmed: bool = False,
        client_id: str | None = None,
        refused: bool = False,
    ) -> Response:
        sid = request.cookies.get(SESSION_COOKIE)
        live = self.tenant.sessions.get(sid) if sid else None
        if live is not None and not confirmed:
            instead = self.confirmation.ask(request, params, live, target)
            if instead is not None:
                return instead
        ended = self.tenant.sessions.pop(sid) if sid else None
        if not refused:  # a refused return URL is logged as the failed logout it is (enforcement.py)
            logged_out(self.tenant, request, ended, client_id)
        if ended is not None:  # the apps holding it hear about it before the browser goes back to one of them
            await self.tenant.backchannel.session_ended(ended)
        target.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return target

    async def logout_v2(self, request: Request) -> Response:
        return await self._v2(request, request.query_params)

    async def _v2(self, request: Request, params: Mapping[str, Any], *, confirmed: bool = False) -> Response:
        return_to = params.get("returnTo")
        client_id = params.get("client_id", "")
        if not return_to:
            page = templating.logged_out_page()
            return await self._end_session(request, page, params, confirmed=confirmed, client_id=client_id)
        client = self.tenant.clients.get(client_id)
        if client is None or not client.allows_logout(return_to):
            refusal = logout_refused(self.tenant, request, client_id, '"returnTo" querystring parameter', return_to)
            return await self._end_session(
                request, refusal, params, confirmed=confirmed, client_id=client_id, refused=True
            )
        back = RedirectResponse(return_to, status_code=302)
        return await self._end_session(request, back, params, confirmed=confirmed, client_id=client_id)

    async def logout_oidc(self, request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            try:
                params.update(await read_params(request, json_ok=False))
            except OAuthError as exc:  # not a form (OIDC RP-Initiated Logout §2), too large, not UTF-8
                return templating.message_page(
                    "Oops!, something went wrong", exc.description, error=exc.error, status_code=exc.status
                )
        return await self._oidc(request, params)

    async def _oidc(self, request: Request, params: Mapping[str, Any], *, confirmed: bool = False) -> Response:
        target = params.get("post_logout_redirect_uri")
        client_id = params.get("client_id") or self._client_from_hint(params.get("id_token_hint"))
        if not target:
            page = templating.logged_out_page()
            return await self._end_session(request, page, params, confirmed=confirmed, client_id=client_id)
        client = self.tenant.clients.get(client_id or "")
        if client is None or not client.allows_logout(target):
            refusal = logout_refused(self.tenant, request, client_id, '"post_logout_redirect_uri" parameter', target)
            return await self._end_session(
                request, refusal, params, confirmed=confirmed, client_id=client_id, refused=True
            )
        # Back to exactly the registered URL: no empty "?" when there is no state to carry.
        state = params.get("state")
        back = redirect_to_client(target, {"state": state}) if state else RedirectResponse(target, status_code=302)
        return await self._end_session(request, back, params, confirmed=confirmed, client_id=client_id)

    async def confirm(self, request: Request) -> Response:
        """The answer to the tenant's "Log out?" page: the logout it asked about, or nothing ended."""
        try:
            form = await read_params(request, json_ok=False)
        except OAuthError as exc:
            return templating.message_page(
                "Oops!, something went wrong", exc.description, error=exc.error, status_code=exc.status
            )
        sid = request.cookies.get(SESSION_COOKIE)
        session = self.tenant.sessions.get(sid) if sid else None
        if not self.confirmation.answer_is_genuine(request, form, session):
            return expired()
        params = {name: str(form[name]) for name in CARRIED if form.get(name)}
        if form.get("action") != "logout":
            return declined(self._way_back(params))
        if form.get("endpoint") == "/v2/logout":
            return await self._v2(request, params, confirmed=True)
        return await self._oidc(request, params, confirmed=True)

    def _way_back(self, params: Mapping[str, Any]) -> str:
        """The return URL the declined logout named, if its client allows it: never one a form could choose."""
        url = str(params.get("returnTo") or params.get("post_logout_redirect_uri") or "")
        client_id = params.get("client_id") or self._client_from_hint(params.get("id_token_hint"))
        client = self.tenant.clients.get(str(client_id or ""))
        return url if client is not None and client.allows_logout(url) else ""

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
