"""Deliberate misbehaviour for tests, and the test-only HTTP API that sets it.

Neither exists in the default run: a DevTenant built without testing=True has no faults and no /test/
routes, so nothing a browser sends can make the tenant sign a bad token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

SIGNING_MODES = {"rs256", "bad_signature", "none", "hs256_client_secret", "foreign_key", "no_kid"}
JWKS_MODES = {"normal", "no_kid", "multi_no_kid"}


@dataclass(slots=True)
class Faults:
    """Deliberate misbehaviour for tests (only used when the tenant is built with testing=True)."""

    id_token_claims: dict[str, Any] = field(default_factory=dict)  # merged over the real claims
    id_token_remove: list[str] = field(default_factory=list)
    signing: str = "rs256"  # one of SIGNING_MODES
    jwks: str = "normal"  # one of JWKS_MODES
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    # Back-Channel Logout tokens, bent the same ways: e.g. {"nonce": "x"} or {"aud": "other"} merged over
    # the real claims, ["events"] removed, signing="bad_signature", typ "JWT" (or "" for none).
    logout_token_claims: dict[str, Any] = field(default_factory=dict)
    logout_token_remove: list[str] = field(default_factory=list)
    logout_token_signing: str = "rs256"  # one of SIGNING_MODES
    logout_token_typ: str = "logout+jwt"
    # path → a canned answer replacing the real one: {"status", "body", "content_type", "location", "delay"}
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def update(self, **changes: Any) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault: {name}")
            if name in ("signing", "logout_token_signing") and value not in SIGNING_MODES:
                raise ValueError(f"{name} must be one of {sorted(SIGNING_MODES)}")
            if name == "jwks" and value not in JWKS_MODES:
                raise ValueError(f"jwks must be one of {sorted(JWKS_MODES)}")
            if name in ("id_token_claims", "userinfo_claims", "logout_token_claims", "answers") and not isinstance(
                value, dict
            ):
                raise ValueError(f"{name} must be an object")
            if name in ("id_token_remove", "logout_token_remove") and not (
                isinstance(value, list) and all(isinstance(item, str) for item in value)
            ):
                raise ValueError(f"{name} must be a list of claim names")
            if name == "logout_token_typ" and not isinstance(value, str):
                raise ValueError("logout_token_typ must be a string")
            setattr(self, name, value)

    def reset(self) -> None:
        fresh = Faults()
        for item in fields(self):
            setattr(self, item.name, getattr(fresh, item.name))


class BrokenAnswers:
    """Answer a path with `Faults.answers[path]` instead of the real endpoint: HTML, a redirect, a hang…"""

    def __init__(self, app: ASGIApp, *, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.faults.answers.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        await asyncio.sleep(float(answer.get("delay", 0)))
        body = answer.get("body", "")
        content = body if isinstance(body, str) else json.dumps(body)
        headers = {"location": answer["location"]} if "location" in answer else {}
        response = Response(
            content,
            status_code=int(answer.get("status", 200)),
            media_type=answer.get("content_type", "application/json"),
            headers=headers,
        )
        await response(scope, receive, send)


class FaultsApi:
    """POST /test/faults (merge), DELETE /test/faults (reset), POST /test/rotate-key, and
    GET /test/logout-tokens (the Back-Channel Logout tokens sent so far), DELETE to forget them."""

    def __init__(
        self, faults: Faults, rotate_key: Callable[[], str], sent_logout_tokens: list[Any] | None = None
    ) -> None:
        self.faults = faults
        self.rotate_key = rotate_key
        self.sent_logout_tokens = sent_logout_tokens

    def routes(self) -> list[Route]:
        routes = [
            Route("/test/faults", self.set_faults, methods=["POST", "DELETE"]),
            Route("/test/rotate-key", self.rotate, methods=["POST"]),
        ]
        if self.sent_logout_tokens is not None:
            routes.append(Route("/test/logout-tokens", self.logout_tokens, methods=["GET", "DELETE"]))
        return routes

    async def set_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.reset()
            return JSONResponse({"ok": True})
        try:
            changes = json.loads(await request.body())
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object")
            self.faults.update(**changes)
        except ValueError as exc:
            return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def rotate(self, request: Request) -> Response:
        return JSONResponse({"kid": await run_in_threadpool(self.rotate_key)})

    async def logout_tokens(self, request: Request) -> Response:
        sent = self.sent_logout_tokens if self.sent_logout_tokens is not None else []
        if request.method == "DELETE":
            sent.clear()
            return JSONResponse({"ok": True})
        return JSONResponse({"sent": [item.as_dict() for item in sent]})
