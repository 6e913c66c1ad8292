"""What both variants of step 03 share and no lesson teaches: the learner's panel that shows where
the session lives and when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from starlette.requests import Request

from records import RecordStore, SessionRecord
from shared.context import context


class Variant(Protocol):
    """What the panel says of a storage variant (cookie_app.py's IdTokenHolder)."""

    @property
    def variant(self) -> str: ...
    @property
    def cookie(self) -> str: ...
    @property
    def holds(self) -> str: ...


@dataclass(frozen=True)
class SessionPanel:
    """What the learner's panel shows: the variant, its cookie, and when the session ends."""

    variant: str
    cookie: str
    holds: str
    store: str
    folder: str  # the running step's folder, as typed from here: the finished step's, or a copy's
    missing: str | None = None  # a half-written Check Session: what it left out
    cookie_bytes: int | None = None  # the rest only while someone is logged in
    identity: str | None = None
    idle_ends_in: str | None = None
    ends_in: str | None = None
    ends_at: str | None = None
    token_expires_iso: str | None = None


def session_panel(
    request: Request, record: SessionRecord | None, holder: Variant, records: RecordStore
) -> SessionPanel:
    ctx = context(request)
    cookie = ctx.cookie(holder.cookie)  # `__Host-` in front over https
    shown = (holder.variant, cookie, holder.holds, records.where, running_folder())
    if request.user is not None and record is None:  # only a Check Session being written
        return SessionPanel(*shown, missing=NO_RECORD)
    if request.user is None or record is None:
        return SessionPanel(*shown)
    now = ctx.clock()
    idle_ends = min(record.last_used_at + ctx.settings.session_idle_timeout, record.expires_at)
    return SessionPanel(
        *shown,
        cookie_bytes=len(request.cookies.get(cookie, "")),
        identity=f"sid {record.sid}" if record.sid else f"record {record.key[:16]}…",
        idle_ends_in=duration(idle_ends - now),
        ends_in=duration(record.expires_at - now),
        ends_at=datetime.fromtimestamp(record.expires_at, UTC).strftime(
            "%a %d %b %Y, %H:%M:%S UTC"
        ),
        token_expires_iso=datetime.fromtimestamp(request.user["exp"], UTC).isoformat(),
    )


NO_RECORD = (
    "Check Session returned no record: it should return SessionCheck(claims, record) with the "
    "record it found (records.get)."
)


@cache  # the folder and the working directory do not change while the step runs: resolved once
def running_folder() -> str:
    """This folder, relative to the working directory when inside it (how `uv run` is typed)."""
    folder = Path(__file__).resolve().parent
    try:
        return str(folder.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


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
