"""A clear answer when the tenant's state folder is deleted under it (`rm -rf .dev-tenant` while a step runs).

Without it the next login fails deep in SQLite ("unable to open database file") and the browser shows a
bare Internal Server Error. The folder held the users and the keys the apps trust; the tenant cannot carry
on without it, and a restart makes a new one. So every answer says that, once the folder is seen gone: a
page for the browser, Auth0-shaped JSON for the apps. Once gone counts as gone for good: a folder that
reappears (made by another process) no longer holds the keys and the client secret this tenant uses.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import templating
from .oauth_errors import NO_STORE, api_error

log = logging.getLogger(__name__)

STATUS = 503
ERROR = "temporarily_unavailable"
# Answered in JSON: what apps call. Everything else is something a browser opens.
OAUTH_JSON = ("/oauth/token", "/userinfo", "/.well-known/", "/test/")
API_JSON = ("/dbconnections/",)


def _starts(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or (prefix.endswith("/") and path.startswith(prefix)) for prefix in prefixes)


class StateGuard:
    """In front of every endpoint: if the state folder or its database is gone, answer 503 saying so."""

    def __init__(self, app: ASGIApp, *, state_dir: Path, database: Path) -> None:
        self.app = app
        self.state_dir = state_dir
        self.database = database
        self.gone = False

    def missing(self) -> bool:
        if not self.gone and not (self.state_dir.is_dir() and self.database.is_file()):
            self.gone = True
            log.error("The dev tenant's state folder %s was removed; restart the step", self.state_dir)
        return self.gone

    def description(self) -> str:
        return (
            f"The dev tenant's state folder ({self.state_dir.resolve()}) was removed while the tenant was running, "
            "and with it its users and signing keys. Restart the step: press Ctrl-C in its terminal, then run it "
            "again (a new folder is made, with the demo user)."
        )

    def answer(self, path: str) -> Response:
        description = self.description()
        if _starts(path, OAUTH_JSON):
            body = {"error": ERROR, "error_description": description}
            return JSONResponse(body, status_code=STATUS, headers=NO_STORE)
        if _starts(path, API_JSON):
            return api_error(ERROR, description, name="ServiceUnavailableError", status=STATUS)
        return templating.message_page(
            "The dev tenant's state folder was removed",
            description,
            error=ERROR,
            hint="Ctrl-C, then run the step again.",
            status_code=STATUS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.missing():
            await self.answer(scope["path"])(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except (sqlite3.Error, OSError):
            # Removed in the middle of this request: the same answer, if nothing was sent yet.
            if started or not self.missing():
                raise
            await self.answer(scope["path"])(scope, receive, send)
