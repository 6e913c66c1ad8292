"""What the provider sent, in a few safe words for an error page: status, type, and the start of a non-JSON body.

A JSON body is described by its shape only (`a JSON object with keys access_token, id_token`): a token
endpoint's answer holds secrets, and an error page must never show them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

MAX_SHOWN = 120  # characters of a non-JSON body worth showing: enough to recognise a proxy's error page


def describe(response: httpx2.Response) -> str:
    """`HTTP 200 text/html: "<html><title>Gateway…"`, or `HTTP 302 to https://…`, or the JSON body's shape."""
    content_type = response.headers.get("content-type", "no content type").split(";")[0].strip()
    head = f"HTTP {response.status_code} {content_type}"
    if response.is_redirect:
        return f"{head}, a redirect to {trim(response.headers.get('location', ''))}"
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeError):
        text = " ".join(response.content[: MAX_SHOWN * 4].decode("utf-8", "replace").split())
        return f'{head}: "{trim(text)}"' if text else f"{head} with an empty body"
    return f"{head}: {shape(body)}"


def shape(body: Any) -> str:
    if isinstance(body, dict):
        keys = ", ".join(trim(str(key), 30) for key in list(body)[:12])
        return f"a JSON object with keys {keys}" if keys else "an empty JSON object"
    kinds = {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean", type(None): "JSON null"}
    return kinds.get(type(body), "a JSON number")


def trim(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
