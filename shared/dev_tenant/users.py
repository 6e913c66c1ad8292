"""The tenant's user directory: SQLite (stdlib), scrypt password hashes, Auth0-like lock-out."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import string
import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .models import User
from .params import MAX_PASSWORD, has_control_characters, normalise_email

DB_FILE = "tenant.sqlite3"
MAX_FAILED_LOGINS = 10
# A login whose turn does not come within WAIT_FOR_TURN seconds is answered "busy"; a row left by a tenant
# that died mid-check frees its slot after ATTEMPT_LEASE seconds. Both far above one scrypt check.
WAIT_FOR_TURN = 10.0
ATTEMPT_LEASE = 60.0
POLL = 0.01

# scrypt with n=2**14, r=8 costs 16 MiB per hash: memory-hard, yet fast enough for tests.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    connection TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    profile TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (connection, email)
);
-- Logins under way, one row each: waiting for a turn (checking = 0) or having their password checked
-- (checking = 1). A row outlives a crashed tenant only until `expires`.
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    checking INTEGER NOT NULL DEFAULT 0,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_by_user ON login_attempts (user_id);
"""


# The stored profile is JSON: keys unknown to User (from an older or newer tenant) are ignored on load.
_PROFILE_FIELDS = {f.name for f in fields(User)} - {"user_id", "connection"}

# "busy": the account had no turn free for its password check in time (too many logins at once).
Outcome = Literal["ok", "wrong", "blocked", "busy"]


class UserExists(Exception):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class PasswordTooLong(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) > MAX_PASSWORD:
        raise PasswordTooLong(MAX_PASSWORD)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    if len(password) > MAX_PASSWORD:  # never stored: no hash to spend time on
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash to compare against when the email is unknown, so that timing does not reveal which
# emails exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# Auth0's "fair" password policy.
POLICY_TEXT = (
    "* At least 8 characters in length\n"
    "* Contain at least 3 of the following 4 types of characters:\n"
    " * lower case letters (a-z)\n"
    " * upper case letters (A-Z)\n"
    " * numbers (i.e. 0-9)\n"
    " * special characters (e.g. !@#$%^&*)"
)


def password_rules(password: str) -> tuple[bool, dict[str, Any]]:
    """Check the "fair" policy; return (ok, Auth0's PasswordStrengthError description)."""
    kinds = [
        ("lower case letters (a-z)", "lowerCase", any(c in string.ascii_lowercase for c in password)),
        ("upper case letters (A-Z)", "upperCase", any(c in string.ascii_uppercase for c in password)),
        ("numbers (i.e. 0-9)", "numbers", any(c in string.digits for c in password)),
        (
            "special characters (e.g. !@#$%^&*)",
            "specialCharacters",
            any(not c.isalnum() for c in password),
        ),
    ]
    length_ok = len(password) >= 8
    kinds_ok = sum(1 for *_, ok in kinds if ok) >= 3
    rules: list[dict[str, Any]] = [
        {"message": "At least %d characters in length", "format": [8], "code": "lengthAtLeast", "verified": length_ok},
        {
            "message": "Contain at least %d of the following %d types of characters:",
            "code": "containsAtLeast",
            "format": [3, 4],
            "items": [{"message": m, "code": c, "verified": ok} for m, c, ok in kinds],
            "verified": kinds_ok,
        },
    ]
    ok = length_ok and kinds_ok
    if len(password) > MAX_PASSWORD:  # refused, never cut: a cut password would let a different tail log in
        rules.append(
            {
                "message": "At most %d characters in length",
                "format": [MAX_PASSWORD],
                "code": "lengthAtMost",
                "verified": False,
            }
        )
        ok = False
    return ok, {"rules": rules, "verified": ok}


def initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").replace(".", " ").split() if p]
    letters = "".join(p[0] for p in parts[:2]).upper()
    return letters or "?"


class UserStore:
    """Users by connection and email. One connection per call keeps it thread-safe and simple."""

    def __init__(self, state_dir: Path, issuer: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_FILE
        self.issuer = issuer
        # Password hashes: owner-only, like the keys beside them. SQLite gives its journal the same mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)  # a database made 0644 by an older tenant
        with self._connect() as db:
            db.executescript(SCHEMA)
            self._renormalise(db)

    @staticmethod
    def _renormalise(db: sqlite3.Connection) -> None:
        """Respell emails stored by an older tenant (NFC, lowered) in today's form (NFKC): otherwise a user
        whose address held a compatibility character (a ligature, a full-width letter) could not log in.
        ASCII addresses are already in every normal form, so only the rare others are rewritten.
        Two old spellings that now collide keep the first user; the other stays as it was (unreachable, as
        a duplicate of an existing account should be)."""
        rows = db.execute("SELECT user_id, email, profile FROM users").fetchall()
        for row in rows:
            email = row["email"]
            if email.isascii() or normalise_email(email) == email:
                continue
            profile = json.loads(row["profile"])
            profile["email"] = normalise_email(email)
            with contextlib.suppress(sqlite3.IntegrityError):
                db.execute(
                    "UPDATE users SET email = ?, profile = ? WHERE user_id = ?",
                    (profile["email"], json.dumps(profile), row["user_id"]),
                )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit mode: every statement is its own transaction; the UNIQUE constraint
        # settles concurrent sign-ups of one email.
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _user(row: sqlite3.Row) -> User:
        profile = json.loads(row["profile"])
        known = {name: value for name, value in profile.items() if name in _PROFILE_FIELDS}
        return User(user_id=row["user_id"], connection=row["connection"], **known)

    def picture_url(self, user_id: str) -> str:
        return f"{self.issuer}avatars/{user_id.split('|', 1)[-1]}.svg"

    def create(
        self,
        connection: str,
        email: str,
        password: str | None,
        *,
        user_id: str | None = None,
        name: str | None = None,
        nickname: str | None = None,
        email_verified: bool = False,
        given_name: str | None = None,
        family_name: str | None = None,
        username: str | None = None,
    ) -> User:
        """Insert a user; raise UserExists when the email is taken in that connection, ValueError when the
        email holds control characters or the password is too long."""
        email = normalise_email(email)
        if not email or has_control_characters(email):
            raise ValueError("invalid email")
        user_id = user_id or "auth0|" + secrets.token_hex(12)
        stamp = now_iso()
        data: dict[str, Any] = {
            "email": email,
            "email_verified": email_verified,
            "name": name or email,
            "nickname": nickname or email.split("@", 1)[0],
            "picture": self.picture_url(user_id),
            "updated_at": stamp,
        }
        optional = {"given_name": given_name, "family_name": family_name, "username": username}
        data.update({key: value for key, value in optional.items() if value is not None})
        password_hash = hash_password(password) if password is not None else None
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (user_id, connection, email, password_hash, profile, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, connection, email, password_hash, json.dumps(data), stamp),
                )
        except sqlite3.IntegrityError as exc:
            raise UserExists(email) from exc
        return User(user_id=user_id, connection=connection, **data)

    def get(self, connection: str, email: str) -> User | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM users WHERE connection = ? AND email = ?", (connection, normalise_email(email))
            ).fetchone()
        return self._user(row) if row else None

    def by_picture_id(self, picture_id: str) -> User | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM users WHERE substr(user_id, instr(user_id, '|') + 1) = ?", (picture_id,)
            ).fetchone()
        return self._user(row) if row else None

    @staticmethod
    @contextlib.contextmanager
    def _immediate(db: sqlite3.Connection) -> Iterator[None]:
        """One transaction that holds SQLite's write lock from its first read: what it reads stays true
        until it commits, across threads and processes."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def authenticate(self, connection: str, email: str, password: str) -> tuple[Outcome, User | None]:
        """Return ("ok", profile), ("wrong", None), ("blocked", None) or ("busy", None). Runs scrypt (and may
        wait for a turn): call off the event loop.

        Lock-out counts failures, not attempts: a right password is never answered "blocked" while the account
        has fewer than MAX_FAILED_LOGINS failures. Each password check takes a turn first: recorded failures
        plus checks under way stay below the cap, so a burst of parallel guesses gets MAX_FAILED_LOGINS checks
        and no more. A login finding no turn free waits (boundedly) for the checks under way to settle: each
        either fails (one failure more) or succeeds (its turn comes free). All of it in SQLite transactions
        that hold the write lock, so the count is shared by threads and by tenant processes alike."""
        email = normalise_email(email)
        attempt, free, settled = 0, False, False
        with self._connect() as db:
            with self._immediate(db):
                row = self._password_user(db, connection, email)
                if row is not None and row["failed_logins"] < MAX_FAILED_LOGINS:
                    # Usually a turn is free at once: taken in this same transaction (one commit fewer).
                    now = time.time()
                    free = row["failed_logins"] + self._checking(db, row["user_id"], now) < MAX_FAILED_LOGINS
                    attempt = db.execute(
                        "INSERT INTO login_attempts (user_id, checking, expires) VALUES (?, ?, ?) RETURNING id",
                        (row["user_id"], int(free), now + (ATTEMPT_LEASE if free else WAIT_FOR_TURN + ATTEMPT_LEASE)),
                    ).fetchone()["id"]
            if row is None:
                check_password(password, _DUMMY_HASH)  # unknown emails take as long as known ones
                return "wrong", None
            if row["failed_logins"] >= MAX_FAILED_LOGINS:
                return "blocked", None
            try:
                if not free:
                    outcome, row = self._take_turn(db, connection, email, attempt)
                    if outcome is not None or row is None:
                        return outcome or "wrong", None
                seen = row["failed_logins"]
                right = check_password(password, row["password_hash"])
                with self._immediate(db):
                    db.execute("DELETE FROM login_attempts WHERE id = ?", (attempt,))
                    settled = True
                    if right:
                        # Forget the failures only if none came meanwhile and no other login is under way:
                        # a right password in the middle of a burst of guesses must not hand the guesser
                        # ten more.
                        db.execute(
                            "UPDATE users SET failed_logins = 0 WHERE user_id = ? AND failed_logins = ?"
                            " AND NOT EXISTS (SELECT 1 FROM login_attempts WHERE user_id = ? AND expires > ?)",
                            (row["user_id"], seen, row["user_id"], time.time()),
                        )
                        return "ok", self._user(row)
                    failed = db.execute(
                        "UPDATE users SET failed_logins = failed_logins + 1 WHERE user_id = ? RETURNING failed_logins",
                        (row["user_id"],),
                    ).fetchone()["failed_logins"]
                return ("blocked" if failed >= MAX_FAILED_LOGINS else "wrong"), None
            finally:
                if not settled:  # ended otherwise (refused while waiting, an exception): no longer under way
                    db.execute("DELETE FROM login_attempts WHERE id = ?", (attempt,))

    def _take_turn(
        self, db: sqlite3.Connection, connection: str, email: str, attempt: int
    ) -> tuple[Outcome | None, sqlite3.Row | None]:
        """Wait for a turn to check the password: (None, the user's row) when it came, else the answer."""
        deadline = time.monotonic() + WAIT_FOR_TURN
        while True:
            with self._immediate(db):
                row = self._password_user(db, connection, email)
                if row is None:  # deleted meanwhile
                    return "wrong", None
                if row["failed_logins"] >= MAX_FAILED_LOGINS:
                    return "blocked", None
                now = time.time()
                if row["failed_logins"] + self._checking(db, row["user_id"], now) < MAX_FAILED_LOGINS:
                    db.execute(
                        "UPDATE login_attempts SET checking = 1, expires = ? WHERE id = ?",
                        (now + ATTEMPT_LEASE, attempt),
                    )
                    return None, row
            if time.monotonic() >= deadline:
                return "busy", None
            time.sleep(POLL)

    @staticmethod
    def _checking(db: sqlite3.Connection, user_id: str, now: float) -> int:
        """How many of the user's passwords are being checked right now (their turns are taken)."""
        count: int = db.execute(
            "SELECT count(*) FROM login_attempts WHERE user_id = ? AND checking = 1 AND expires > ?", (user_id, now)
        ).fetchone()[0]
        return count

    @staticmethod
    def _password_user(db: sqlite3.Connection, connection: str, email: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM users WHERE connection = ? AND email = ? AND password_hash IS NOT NULL", (connection, email)
        ).fetchone()
        return row

    def unblock(self, connection: str, email: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE users SET failed_logins = 0 WHERE connection = ? AND email = ?",
                (connection, normalise_email(email)),
            )

    def upsert_social(self, connection: str, user_id: str, email: str, name: str) -> User:
        existing = self.get(connection, email)
        if existing:
            return existing
        try:
            return self.create(connection, email, None, user_id=user_id, name=name, email_verified=True)
        except UserExists:
            found = self.get(connection, email)
            assert found is not None
            return found
