"""CSRF protection for the app's own forms: a random token in the signed session, echoed by each form.

Without it, any web page could make a visitor's browser post to /login with the attacker's own
credentials ("login CSRF") and have them quietly use the attacker's account. SameSite=Lax alone does
not cover every browser or a sibling subdomain, so the forms carry a token a foreign page cannot read.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request

FIELD = "csrf_token"  # the hidden form field, and the key in request.session


def csrf_token(request: Request) -> str:
    """This browser's token, made on first use and kept in the signed session cookie."""
    token = request.session.get(FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[FIELD] = token
    return token


def check_csrf(request: Request, form: Mapping[str, str]) -> None:
    """Refuse the post with 403 unless its token is the one this browser's session holds."""
    expected = request.session.get(FIELD)
    sent = form.get(FIELD, "")
    # compare_digest: a timing difference must not reveal how much of a guessed token was right.
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403,
            "This form has expired or did not come from this app (its security token is missing or wrong). "
            "Go back to the home page and try again.",
        )
