"""The tenant's logs, shaped like Auth0's Monitoring → Logs: one event per login, failure, sign-up, code
exchange, logout, back-channel delivery, refused request and settings change, with Auth0's event codes.

Each event is Auth0's log event object (log_id, date, type, description, client_id, client_name, ip,
user_agent, hostname, user_id, user_name, connection, strategy, strategy_type, details). They are kept
in the state folder as logs.jsonl (0600), newest last, at most MAX_EVENTS of them: the file is cut back
to the newest MAX_EVENTS once it holds twice as many, so it stays bounded however long the tenant runs.

What an event may hold is decided here, never copied from a request wholesale: no password, code,
token, client secret or cookie ever reaches a log line. The few request values kept (an email, a URL
an app sent, the user agent) are cut to a bounded length.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .defaults import DATABASE_CONNECTION, GOOGLE_CONNECTION, write_private_file

if TYPE_CHECKING:
    from starlette.requests import Request

    from .models import User

log = logging.getLogger(__name__)

LOGS_FILE = "logs.jsonl"
MAX_EVENTS = 1000
MAX_TEXT = 300  # characters of any one value taken from a request

# Auth0's event codes and their names (Auth0's "Log Event Type Codes"), those the dev tenant emits.
EVENTS = {
    "s": "Success Login",
    "f": "Failed Login",
    "fp": "Failed Login (Incorrect Password)",
    "fu": "Failed Login (Invalid Email/Username)",
    "limit_wc": "Blocked Account",
    "ss": "Success Signup",
    "fs": "Failed Signup",
    "ssa": "Success Silent Auth",
    "fsa": "Failed Silent Auth",
    "seacft": "Success Exchange (Authorization Code for Access Token)",
    "feacft": "Failed Exchange (Authorization Code for Access Token)",
    "sepft": "Success Exchange (Password for Access Token)",
    "fepft": "Failed Exchange (Password for Access Token)",
    "slo": "Success Logout",
    "flo": "Failed Logout",
    "oidc_backchannel_logout_succeeded": "Success OIDC Back-Channel Logout",
    "oidc_backchannel_logout_failed": "Failed OIDC Back-Channel Logout",
    "sapi": "Success API Operation",
}
STRATEGIES = {DATABASE_CONNECTION: ("auth0", "database"), GOOGLE_CONNECTION: ("google-oauth2", "social")}


def is_failure(event_type: str) -> bool:
    return event_type.startswith("f") or event_type.endswith("_failed") or event_type.startswith("limit_")


def bounded(value: Any) -> str:
    text = str(value or "")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


class TenantLog:
    """Record events (`record`) and read them back newest first (`events`, `get`)."""

    def __init__(self, state_dir: Path, hostname: str, now: Callable[[], float], client_name: Callable[[str], str]):
        self.path = Path(state_dir) / LOGS_FILE
        self.hostname = hostname
        self._now = now
        self._client_name = client_name
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._lines = 0  # lines in the file, to know when to cut it back
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return
        self._lines = len(lines)
        for line in lines[-MAX_EVENTS:]:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: the others still count
            if isinstance(event, dict) and isinstance(event.get("log_id"), str):
                self._events.append(event)

    def record(
        self,
        event_type: str,
        description: str = "",
        *,
        request: Request | None = None,
        client_id: str | None = None,
        user: User | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
        connection: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add one event; never raises (a log that cannot be written must not fail a login)."""
        now = self._now()
        connection = connection or (user.connection if user is not None else None)
        strategy, strategy_type = STRATEGIES.get(connection or "", ("", ""))
        event: dict[str, Any] = {
            # Auth0's ids are long digit strings that sort by time; these do too.
            "log_id": f"{int(now * 1000):015d}{secrets.randbelow(10**9):09d}",
            "date": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "type": event_type,
            "description": bounded(description),
            "client_id": bounded(client_id),
            "client_name": self._client_name(client_id) if client_id else "",
            "ip": request.client.host if request is not None and request.client else "",
            "user_agent": bounded(request.headers.get("user-agent")) if request is not None else "",
            "hostname": self.hostname,
            "user_id": user.user_id if user is not None else bounded(user_id),
            "user_name": user.email if user is not None else bounded(user_name),
            "connection": connection or "",
            "strategy": strategy,
            "strategy_type": strategy_type,
            "details": details or {},
        }
        try:
            self._append(event)
        except Exception:  # a full disk or a removed state folder: the event is still shown while running
            log.warning("dev tenant: could not write the log event to %s", self.path, exc_info=True)
        return event

    def _append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            self._events.append(event)
            if not self.path.parent.is_dir():
                return  # the state folder is gone: state_guard.py answers for it
            if self._lines >= 2 * MAX_EVENTS:
                write_private_file(self.path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self._events))
                self._lines = len(self._events)
                return
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line)
            self._lines += 1

    def events(self, event_type: str = "", user: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; `event_type` an exact code, `user` part of a user_name or user_id."""
        user = user.strip().lower()
        with self._lock:
            newest_first: Iterable[dict[str, Any]] = reversed(list(self._events))
        found = []
        for event in newest_first:
            if event_type and event.get("type") != event_type:
                continue
            if user and user not in f"{event.get('user_name', '')} {event.get('user_id', '')}".lower():
                continue
            found.append(event)
            if len(found) >= limit:
                break
        return found

    def get(self, log_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((event for event in self._events if event.get("log_id") == log_id), None)

    def __len__(self) -> int:
        return len(self._events)
