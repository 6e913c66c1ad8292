"""Whether a logout request may end the browser's SSO session at once, or the user is asked first.

Any page can send a browser to a logout URL (an <img>, a meta refresh, a link), and the tenant's
session cookie goes with it: were that enough, any page could end the user's session, and through
Back-Channel Logout every app's. So, as RP-Initiated Logout 1.0 §2 has the provider do and as Auth0
does ("RP-Initiated Logout End-User Confirmation"), a request ends the session at once only when it
names that session:

- `/oidc/logout`: `logout_hint` equal to the browser's session id (`sid`), or an `id_token_hint` the
  tenant signed whose `sid` is the browser's (expired tokens count). Hints that contradict each other
  (a `logout_hint` that is not the token's `sid`, a `client_id` that is not its `aud`) are an error, as
  on Auth0. Anything else shows a page asking the user, whose form posts back here (POST /u/logout),
  checked by the tenant's own defences: the same origin, and a token derived from the session it ends.
- `/v2/logout` (Auth0's own, which on Auth0 logs out on any visit): the same `logout_hint`, or a visit
  a person started — a top-level navigation with a user's click or form behind it (Fetch Metadata's
  `Sec-Fetch-User: ?1`), or a request from no browser at all. An image, a frame, a script's request or a
  navigation nobody clicked for (a meta refresh) gets the page instead.

A browser with no live session has nothing to end, and is never asked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from joserfc import jwk, jwt
from starlette.requests import Request
from starlette.responses import Response

from . import templating
from .models import SsoSession

if TYPE_CHECKING:
    from .server import DevTenant

CONFIRM_PATH = "/u/logout"
# What the confirmation form carries back, so that the confirmed logout is the one that was asked for.
CARRIED = ("returnTo", "post_logout_redirect_uri", "client_id", "state")
ENDPOINTS = ("/v2/logout", "/oidc/logout")


def started_by_a_person(request: Request) -> bool:
    """A top-level visit someone clicked or submitted for, or a request from no browser (no Fetch Metadata:
    curl, a test client, or a browser too old to send it)."""
    headers = request.headers
    if "sec-fetch-mode" not in headers:
        return True
    return (
        headers.get("sec-fetch-mode") == "navigate"
        and headers.get("sec-fetch-dest") == "document"
        and headers.get("sec-fetch-user") == "?1"
    )


def same_origin_post(request: Request) -> bool:
    """The browser says the form came from one of the tenant's own templating. Its pages send no referrer, so a
    browser may send `Origin: null` on their posts; Sec-Fetch-Site then tells."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if origin and origin != "null":
        return origin == f"{request.url.scheme}://{request.url.netloc}"
    if site is not None:
        return site == "same-origin"
    return origin is None  # no browser: the form's token alone decides


class LogoutConfirmation:
    """Decides whether a logout goes ahead at once, renders the question, and checks the answer."""

    def __init__(self, tenant: DevTenant) -> None:
        self.tenant = tenant
        # Confirmation tokens are derived from the session they end, so nothing is stored; a restart
        # (which ends every session anyway) makes an open question page expire.
        self._key = secrets.token_bytes(32)

    def token(self, session: SsoSession) -> str:
        return hmac.new(self._key, b"logout-confirm:" + session.sid.encode(), hashlib.sha256).hexdigest()

    def hint_claims(self, hint: str) -> dict[str, Any] | None:
        """The claims of an id_token this tenant signed (expired ones too), else None."""
        try:
            token = jwt.decode(hint, jwk.KeySet(list(self.tenant.keys.keys)), algorithms=["RS256"])
        except Exception:  # not a token of ours, or not a token at all: it names no session
            return None
        return dict(token.claims)

    def ask(
        self, request: Request, params: Mapping[str, Any], session: SsoSession, target: Response
    ) -> Response | None:
        """None: the request names `session`, end it now. Otherwise the answer to give instead: an error
        when its hints contradict each other, the logout's own error page (nothing is ended for a request
        that also names a URL not allowed), or the page asking the user."""
        logout_hint = str(params.get("logout_hint") or "")
        named = bool(logout_hint) and hmac.compare_digest(logout_hint, session.sid)
        id_token_hint = str(params.get("id_token_hint") or "")
        fields = {name: str(params[name]) for name in CARRIED if params.get(name)}
        if id_token_hint and request.url.path == "/oidc/logout":
            claims = self.hint_claims(id_token_hint)
            if claims is not None:
                if logout_hint and logout_hint != claims.get("sid"):
                    return contradiction("The logout_hint is not the id_token_hint's sid.")
                aud = claims.get("aud")
                client_id = params.get("client_id")
                if client_id and client_id != aud and not (isinstance(aud, list) and client_id in aud):
                    return contradiction("The client_id is not the id_token_hint's audience.")
                named = named or claims.get("sid") == session.sid
                if isinstance(aud, str):  # the page carries no token, but the client it was for
                    fields.setdefault("client_id", aud)
        if not named and request.url.path == "/v2/logout":
            named = started_by_a_person(request)
        if named:
            return None
        if target.status_code >= 400:
            return target
        return templating.render(
            "logout_confirm.html",
            endpoint=request.url.path,
            fields=fields,
            csrf=self.token(session),
            email=session.user.email,
        )

    def answer_is_genuine(self, request: Request, form: Mapping[str, Any], session: SsoSession | None) -> bool:
        """The confirmation form was posted from the tenant's own page, for the session the browser has now."""
        if session is None or not same_origin_post(request):
            return False
        return hmac.compare_digest(str(form.get("csrf") or ""), self.token(session))


def contradiction(description: str) -> Response:
    return templating.message_page(
        "Oops!, something went wrong",
        description,
        error="invalid_request",
        hint="Send either the id_token the tenant issued, or its sid as logout_hint, or both of the same login.",
    )


def expired() -> Response:
    return templating.message_page(
        "This logout page has expired",
        "Nothing was ended: the session it asked about is over, or the page came from elsewhere.",
        error="invalid_request",
        hint="Go back to the application and choose Log Out again.",
        status_code=403,
    )


def declined(back_url: str) -> Response:
    return templating.message_page(
        "You are still logged in",
        "Your session at the local dev tenant goes on; nothing was ended.",
        status_code=200,
        back_url=back_url,
    )
