"""What both variants of step 03 share and no lesson teaches: the step's records on the app, and the
learner's panel that shows where the session lives and when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request

from records import RecordStore, SessionRecord
from shared.context import context


@dataclass
class SessionHandling:
    """Step 03's part of the app: the server's session records, and the variant's panel text."""

    records: RecordStore
    variant: str  # the storage variant's name, for the panel
    holds: str  # what its cookie holds, for the panel
    cookie: str  # the cookie that holds the id_token


def session_handling(connection: HTTPConnection | Starlette) -> SessionHandling:
    app = connection if isinstance(connection, Starlette) else connection.app
    found: SessionHandling = app.state.session_handling
    return found


@dataclass(frozen=True)
class SessionPanel:
    """What the learner's panel shows: the variant, its cookie, and when the session ends."""

    variant: str
    cookie: str
    holds: str
    store: str
    cookie_bytes: int | None = None  # the rest only while someone is logged in
    identity: str | None = None
    idle_ends_in: str | None = None
    ends_in: str | None = None
    ends_at: str | None = None
    token_expires_iso: str | None = None


def session_panel(request: Request, record: SessionRecord | None) -> SessionPanel:
    step = session_handling(request)
    store = step.records.where
    if request.user is None or record is None:
        return SessionPanel(step.variant, step.cookie, step.holds, store)
    ctx = context(request)
    now = ctx.clock()
    idle_ends = min(record.last_used_at + ctx.settings.session_idle_timeout, record.expires_at)
    return SessionPanel(
        step.variant,
        step.cookie,
        step.holds,
        store,
        cookie_bytes=len(request.cookies.get(step.cookie, "")),
        identity=f"sid {record.sid}" if record.sid else f"record {record.key[:16]}…",
        idle_ends_in=duration(idle_ends - now),
        ends_in=duration(record.expires_at - now),
        ends_at=datetime.fromtimestamp(record.expires_at, UTC).strftime(
            "%a %d %b %Y, %H:%M:%S UTC"
        ),
        token_expires_iso=datetime.fromtimestamp(request.user["exp"], UTC).isoformat(),
    )


def duration(seconds: float) -> str:
    """`2 h 5 min`, `4 min 10 s`, `9 s`: how long, for a person."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
