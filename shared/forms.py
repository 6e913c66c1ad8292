"""Read a small HTML form post, refusing oversized bodies before anything else looks at them."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_FORM_BYTES = 4 * 1024  # an email, a password and a CSRF token fit many times over


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The posted fields (first value of each name); 400 if the body is too large or not a plain form."""
    return parse_form(request, await read_body(request, max_bytes))


async def read_body(request: Request, max_bytes: int = MAX_FORM_BYTES) -> bytes:
    """The request's body, at most `max_bytes` of it (400 beyond: nothing is done)."""
    too_large = HTTPException(400, f"The form sent more than {max_bytes} bytes; nothing was done.")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise too_large
    body = b""
    async for chunk in request.stream():  # also bounds chunked bodies that announce no length
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return body


def parse_form(request: Request, body: bytes) -> dict[str, str]:
    """`body` as an HTML form's fields (first value of each name); 400 if it is not a plain form."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if body and content_type != "application/x-www-form-urlencoded":
        raise HTTPException(400, "Expected an HTML form post (application/x-www-form-urlencoded).")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields
