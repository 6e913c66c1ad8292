"""The server's record of each session, so that a session can end before its cookie does.

A cookie is a copy: deleting it at logout only asks the browser to forget it, and any copy taken
before (a stolen cookie, a browser history entry holding the id_token) would still log in until the
token's `exp`. So the server keeps one record per login — when it started, when it was last used —
and Check Session refuses a cookie whose record is gone. Logout deletes the record first.

Two stores with the same methods:
- SqliteRecords: a file in the state folder (the default; nothing to start). Instances on one
  machine share it.
- RedisRecords (redis_records.py): SESSION_STORE_URL=redis://…, for instances on several machines
  behind a load balancer.

Records are keyed by a SHA-256 of the id_token, never by the token itself: a leaked store holds no
credential. Each record also keeps the tenant's `sid` and the user's `sub`, so a back-channel logout
from the tenant can end every session of that tenant session or user. A `sid` the tenant ended is
remembered for as long as a session of it could live: a login of that tenant session finishing
after its logout (the callback was already on its way) is refused instead of outliving it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.exceptions import HTTPException


class StoreUnavailable(HTTPException):
    """The record store did not answer: a 503 page naming it. Never a session trusted unchecked."""

    def __init__(self, where: str) -> None:
        super().__init__(
            503,
            f"The session records ({where}) did not answer, so this app cannot tell whether your "
            "session is still valid. Try again in a moment; if it persists, check that the store "
            "is running.",
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    key: str  # session_key(id_token)
    sid: str | None  # the tenant's session id from the id_token, when it sends one
    sub: str  # the user
    started_at: float
    last_used_at: float
    expires_at: float  # the absolute end: the earlier of the absolute timeout and the token's exp


def session_key(id_token: str) -> str:
    return hashlib.sha256(id_token.encode()).hexdigest()


class RecordStore(Protocol):
    where: str  # for messages: the file or the Redis URL (without a password)

    async def start(self, record: SessionRecord) -> bool:
        """Store the record and return True; or store nothing and return False while its `sid` is
        remembered as ended (record.started_at, its "now", before a logout's sid_ended_until)."""
        ...

    async def get(self, key: str) -> SessionRecord | None: ...

    async def touch(self, record: SessionRecord, now: float) -> None: ...

    async def end(self, key: str) -> None: ...

    async def end_by_logout_token(
        self,
        *,
        jti: str,
        jti_until: float,
        sid: str | None,
        sub: str | None,
        sid_ended_until: float,
    ) -> bool:
        """A back-channel logout, all or nothing: False (nothing changed) when `jti` was used
        before; else remember `jti` until jti_until, end every session of `sid` (with no sid: of
        `sub`, Back-Channel Logout §2.7), and refuse new logins of `sid` until sid_ended_until."""
        ...

    async def aclose(self) -> None:
        """Let go of connections and background work, at the app's shutdown."""
        ...


class SqliteRecords:
    """Records in a SQLite file. Each call is a few indexed statements on a local file
    (microseconds), so it runs on the event loop directly; a lock held longer than `busy_timeout`
    is a 503, not a wait. WAL with synchronous=NORMAL (one disk sync per checkpoint, not per
    login): a crash of the app loses nothing; a power cut of the machine may lose the last writes —
    a login (log in again), or a logout, whose record then lives until its timeouts. Keep FULL
    where that matters more than speed."""

    def __init__(self, path: Path, *, busy_timeout: float = 0.5) -> None:
        self.path = path
        self.where = f"SQLite file {path.parent.name}/{path.name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        path.chmod(0o600)
        try:
            self.db.executescript(
                """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE IF NOT EXISTS sessions (
                    key TEXT PRIMARY KEY, sid TEXT, sub TEXT NOT NULL,
                    started_at REAL NOT NULL, last_used_at REAL NOT NULL, expires_at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS sessions_sid ON sessions (sid);
                CREATE INDEX IF NOT EXISTS sessions_sub ON sessions (sub);
                CREATE TABLE IF NOT EXISTS logout_tokens (
                    jti TEXT PRIMARY KEY, until REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS ended_sids (sid TEXT PRIMARY KEY, until REAL NOT NULL);
                """
            )
        except sqlite3.Error as error:
            raise StoreUnavailable(self.where) from error

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.Error as error:  # "database is locked", a deleted or read-only file, …
            raise StoreUnavailable(self.where) from error

    def _rollback(self) -> None:
        # Never leave the connection inside a half-done transaction: the next call would join it.
        if self.db.in_transaction:
            self.db.rollback()

    async def start(self, record: SessionRecord) -> bool:
        # One transaction, so one write to disk per login. Purging what has expired here bounds the
        # tables by the logins of one absolute timeout.
        now = record.started_at
        self._run("BEGIN IMMEDIATE")
        try:
            self._run("DELETE FROM sessions WHERE expires_at < ?", (now,))
            self._run("DELETE FROM logout_tokens WHERE until < ?", (now,))
            self._run("DELETE FROM ended_sids WHERE until < ?", (now,))
            ended = (
                record.sid is not None
                and self._run(
                    "SELECT 1 FROM ended_sids WHERE sid = ? AND until > ?", (record.sid, now)
                ).fetchone()
            )
            if not ended:
                self._run(
                    "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.key,
                        record.sid,
                        record.sub,
                        now,
                        record.last_used_at,
                        record.expires_at,
                    ),
                )
            self._run("COMMIT")
        except StoreUnavailable:
            self._rollback()
            raise
        return not ended

    async def get(self, key: str) -> SessionRecord | None:
        row = self._run("SELECT * FROM sessions WHERE key = ?", (key,)).fetchone()
        return SessionRecord(*row) if row else None

    async def touch(self, record: SessionRecord, now: float) -> None:
        self._run("UPDATE sessions SET last_used_at = ? WHERE key = ?", (now, record.key))

    async def end(self, key: str) -> None:
        self._run("DELETE FROM sessions WHERE key = ?", (key,))

    async def end_by_logout_token(
        self,
        *,
        jti: str,
        jti_until: float,
        sid: str | None,
        sub: str | None,
        sid_ended_until: float,
    ) -> bool:
        if not sid and not sub:
            raise ValueError("a logout token names a sid, a sub, or both")
        # One transaction: if anything fails, the jti is not recorded either, so the tenant's retry
        # of the same token is accepted and does the whole job.
        self._run("BEGIN IMMEDIATE")
        try:
            fresh = self._run("INSERT OR IGNORE INTO logout_tokens VALUES (?, ?)", (jti, jti_until))
            if fresh.rowcount != 1:
                self._run("ROLLBACK")
                return False
            if sid:
                self._run("DELETE FROM sessions WHERE sid = ?", (sid,))
                self._run(
                    "INSERT INTO ended_sids VALUES (?, ?) ON CONFLICT (sid) "
                    "DO UPDATE SET until = max(until, excluded.until)",
                    (sid, sid_ended_until),
                )
            else:
                self._run("DELETE FROM sessions WHERE sub = ?", (sub,))
            self._run("COMMIT")
        except StoreUnavailable:
            self._rollback()
            raise
        return True

    async def aclose(self) -> None:
        self.db.close()


def open_records(url: str | None, state_dir: Path) -> RecordStore:
    """SESSION_STORE_URL's Redis when set, else the SQLite file in the state folder."""
    if url:
        # Imported only when configured: importing redis-py is a noticeable part of a step's start.
        from redis_records import RedisRecords

        return RedisRecords(url)
    return SqliteRecords(state_dir / "sessions.sqlite3")
