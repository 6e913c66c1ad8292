"""CSRF protection for the app's own forms: the post must come from the app's origin, and echo a token.

Without it, any web page could make a visitor's browser post to /login with the attacker's own
credentials ("login CSRF") and have them quietly use the attacker's account, or post to /logout
and end their session. SameSite=Lax alone does not stop a page on another port of the same host
(same site, another origin), and a token alone does not stop a page that plants its own session
cookie ("cookie tossing": the attacker's token and cookie match). So each post must also come from
this app's own origin (`Origin`, else `Sec-Fetch-Site`), and the token changes at login and at
logout.

The factory (shared/app.py) installs `CsrfMiddleware` for every POST route of a step, so a route
runs only once both checks passed; a path that servers call (step 03's back-channel logout, which
no browser posts) is exempt by name.

The token a form carries:
- while a session is open, derived from it: an HMAC, under APP_SECRET_KEY, of the session's key
  (the SHA-256 of the stored id_token). Nothing is stored for it, so a logged-in page of the
  plain-cookie variant needs no signed cookie at all; a new login is a new id_token, so a new token.
- with no session open (step 02's Log In and Sign Up forms), a random value kept in the step's
  signed cookie, which login and logout clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection, Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.forms import parse_form, read_body
from shared.middleware.headers import origin

FIELD = "csrf_token"  # the hidden form field, and the key in request.session
SCOPE_KEY = "csrf"  # where the middleware leaves itself for the pages' csrf_token()
EXPIRED = (
    "This form has expired or did not come from this app (its security token is missing or wrong). "
    "Go back to the home page and try again."
)
ANOTHER_ORIGIN = "This form was sent from another web page, not from this app. Go back to the home page and try again."


def csrf_token(request: Request) -> str:
    """The token for a form on this page (the templates' `csrf_token(request)`)."""
    csrf: CsrfMiddleware | None = request.scope.get(SCOPE_KEY)
    if csrf is None:
        raise RuntimeError("No CsrfMiddleware around this app: build it with shared.app.build_app.")
    return csrf.token(request)


class CsrfMiddleware:
    """Refuse a post to one of `routes` with 403 unless it comes from this app's origin with its token.

    Both are checked before the route runs. The body is read (with read_form's limits) to find the
    token, then handed to the route as if unread. `exempt`: paths no browser posts to (a server's
    call, authenticated otherwise), where neither check applies.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str,
        secret_key: str,
        read_id_token: Callable[[Request], str | None],
        routes: Sequence[BaseRoute],
        exempt: Collection[str] = (),
    ) -> None:
        self.app = app
        self.origin = origin(base_url)
        self.key = secret_key.encode()
        self.read_id_token = read_id_token
        self.exempt = frozenset(exempt)
        unknown = self.exempt - {getattr(route, "path", None) for route in routes}
        if unknown:
            raise ValueError(f"CSRF exemptions for paths no route serves: {sorted(unknown)}")
        self.routes = [route for route in routes if getattr(route, "path", None) not in self.exempt]

    def derived(self, id_token: str) -> str:
        """The token of the session holding `id_token`: HMAC-SHA256(APP_SECRET_KEY, "csrf" + its key)."""
        session_key = hashlib.sha256(id_token.encode()).hexdigest()
        digest = hmac.digest(self.key, b"csrf" + session_key.encode(), "sha256")  # one call, in C
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def token(self, request: Request) -> str:
        """Derived from the open session; else this browser's random one, made on first use."""
        if request.scope.get("user") is not None:  # Check Session passed: its id_token stays stored
            id_token = self.read_id_token(request)
            if id_token:
                return self.derived(id_token)
        token = request.session.get(FIELD)
        if not isinstance(token, str) or not token:
            token = secrets.token_urlsafe(32)
            request.session[FIELD] = token
        return token

    def accepted(self, request: Request) -> list[str]:
        """The tokens a form of this browser may carry: the stored session's, and the signed cookie's.

        Both, because the page may have been drawn before its session ended (an idle timeout, a
        tenant that cannot be asked): its Log Out form still works. Each is a secret of this
        browser's cookies; the attacker who plants cookies of their own is stopped by the origin.
        """
        tokens = []
        id_token = self.read_id_token(request)
        if id_token:
            tokens.append(self.derived(id_token))
        kept = request.session.get(FIELD)
        if isinstance(kept, str) and kept:
            tokens.append(kept)
        return tokens

    def _protects(self, scope: Scope) -> bool:
        return scope["method"] == "POST" and any(route.matches(scope)[0] == Match.FULL for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self
        if not self._protects(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            check_origin(request, self.origin)
            body = await read_body(request)
            sent = parse_form(request, body).get(FIELD, "")
            # compare_digest: a timing difference must not reveal how much of a guessed token was right.
            if not any(hmac.compare_digest(sent.encode(), token.encode()) for token in self.accepted(request)):
                raise HTTPException(403, EXPIRED)
        except HTTPException as error:
            # Raised before the routes, where Starlette's ExceptionMiddleware cannot see it: the
            # app's own handler draws the page, as for Check Session's errors.
            handlers = request.app.exception_handlers
            handler = next(handlers[kind] for kind in type(error).__mro__ if kind in handlers)
            await (await handler(request, error))(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the route the body already read, then whatever comes next (a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive_again() -> Message:
        return pending.pop() if pending else await receive()

    return receive_again


def check_origin(request: Request, expected: str) -> None:
    """Refuse with 403 a request a browser sent from another origin (another site, or another port).

    Browsers send `Origin` on every POST (`null` from some sandboxed or redirected contexts: refused),
    and newer ones `Sec-Fetch-Site`. A client that sends neither is not a browser acting for a visitor.
    """
    sent = request.headers.get("origin")
    if sent is not None:
        allowed = sent == expected
    else:
        allowed = request.headers.get("sec-fetch-site") in (None, "same-origin", "none")
    if not allowed:
        raise HTTPException(403, ANOTHER_ORIGIN)
