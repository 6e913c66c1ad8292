"""CSRF protection for the app's own forms: the post must come from the app's origin, and echo a token.

Without it, any web page could make a visitor's browser post to /login with the attacker's own
credentials ("login CSRF") and have them quietly use the attacker's account. SameSite=Lax alone does
not stop a page on another port of the same host (same site, another origin), and a token alone does
not stop a page that plants its own session cookie ("cookie tossing": the attacker's token and cookie
match). So each post must also come from this app's own origin (`Origin`, else `Sec-Fetch-Site`),
and the session — token included — is replaced at login and at logout.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request

from shared.context import context
from shared.headers import origin

FIELD = "csrf_token"  # the hidden form field, and the key in request.session


def csrf_token(request: Request) -> str:
    """This browser's token, made on first use and kept in the signed session cookie."""
    token = request.session.get(FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[FIELD] = token
    return token


def check_csrf(request: Request, form: Mapping[str, str]) -> None:
    """Refuse the post with 403 unless it comes from this app's pages with the token its session holds."""
    check_origin(request)
    expected = request.session.get(FIELD)
    sent = form.get(FIELD, "")
    # compare_digest: a timing difference must not reveal how much of a guessed token was right.
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403,
            "This form has expired or did not come from this app (its security token is missing or wrong). "
            "Go back to the home page and try again.",
        )


def check_origin(request: Request) -> None:
    """Refuse with 403 a request a browser sent from another origin (another site, or another port).

    Browsers send `Origin` on every POST (`null` from some sandboxed or redirected contexts: refused),
    and newer ones `Sec-Fetch-Site`. A client that sends neither is not a browser acting for a visitor.
    """
    sent = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if sent is not None:
        allowed = sent == origin(context(request).settings.base_url)
    else:
        allowed = fetch_site in (None, "same-origin", "none")
    if not allowed:
        raise HTTPException(
            403,
            "This form was sent from another web page, not from this app. Go back to the home page and try again.",
        )
