"""Step 03's session record stores, driven directly: SQLite on a file of the test's own, Redis on a
real redis-server. Both must keep the same contract (records.RecordStore)."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.steps import load_step

# By their plain names, as the step imports them (redis_records does `from records import …`):
# loaded under a second name, records.py would define a second, different SessionRecord.
redis_records = load_step("03-Session-Handling/redis_records.py")
records = importlib.import_module("records")

NOW = 1_900_000_000.0  # a fixed "now": the contract is in the timestamps the caller passes
HOUR = 3600.0

StoreTest = Callable[[Any], Awaitable[None]]


def record(sid: str | None = "sid-1", sub: str = "user-1", *, at: float = NOW, key: str = "") -> Any:
    return records.SessionRecord(key or uuid.uuid4().hex, sid, sub, at, at, at + 8 * HOUR)


@pytest.fixture(params=["sqlite", "redis"])
def run_with_store(request, tmp_path: Path) -> Iterator[Callable[[StoreTest], None]]:
    """run_with_store(test) runs `async test(store)` on a fresh store of each kind."""

    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def run(test: StoreTest) -> None:
        async def main() -> None:
            if request.param == "sqlite":
                await test(records.SqliteRecords(tmp_path / f"{uuid.uuid4().hex}.sqlite3"))
                return
            # Far-future timestamps, so Redis's own expiry never interferes; a prefix per test.
            store = redis_records.RedisRecords(url, prefix=f"test-{uuid.uuid4().hex}")
            try:
                await test(store)
            finally:
                await store.aclose()

        asyncio.run(main())

    yield run


def test_a_started_record_is_read_back_touched_and_ended(run_with_store):
    async def test(store):
        started = record()
        assert await store.start(started) is True
        assert await store.get(started.key) == started
        await store.touch(started, NOW + 60)
        assert (await store.get(started.key)).last_used_at == NOW + 60
        await store.end(started.key)
        assert await store.get(started.key) is None

    run_with_store(test)


def test_a_logout_token_ends_every_session_of_its_sid_and_only_those(run_with_store):
    async def test(store):
        ours = [record("sid-1"), record("sid-1")]
        other_tenant_session = record("sid-2")  # the same user, logged in elsewhere
        for each in [*ours, other_tenant_session]:
            assert await store.start(each)
        ended = await store.end_by_logout_token(
            jti="jti-1", jti_until=NOW + 120, sid="sid-1", sub="user-1", sid_ended_until=NOW + HOUR
        )
        assert ended is True
        assert [await store.get(each.key) for each in ours] == [None, None]
        assert await store.get(other_tenant_session.key) == other_tenant_session

    run_with_store(test)


def test_a_logout_token_with_only_a_sub_ends_all_of_the_users_sessions(run_with_store):
    async def test(store):
        users = [record("sid-1", "user-1"), record("sid-2", "user-1"), record(None, "user-1")]
        someone_else = record("sid-3", "user-2")
        for each in [*users, someone_else]:
            assert await store.start(each)
        assert await store.end_by_logout_token(
            jti="jti-1", jti_until=NOW + 120, sid=None, sub="user-1", sid_ended_until=NOW + HOUR
        )
        assert [await store.get(each.key) for each in users] == [None, None, None]
        assert await store.get(someone_else.key) == someone_else
        # No sid was named, so none is remembered as ended: user-1 may log in again at once.
        assert await store.start(record("sid-1", "user-1"))

    run_with_store(test)


def test_a_logout_token_is_refused_the_second_time_and_changes_nothing(run_with_store):
    async def test(store):
        first = dict(jti="jti-1", jti_until=NOW + 120, sub="user-1", sid_ended_until=NOW + HOUR)
        assert await store.end_by_logout_token(sid="sid-1", **first) is True
        later = record("sid-2")
        assert await store.start(later)
        # The same jti again, now naming another sid: refused, and that sid's session lives on.
        assert await store.end_by_logout_token(sid="sid-2", **first) is False
        assert await store.get(later.key) == later
        assert await store.start(record("sid-2"))  # sid-2 was not remembered as ended

    run_with_store(test)


def test_a_login_of_an_ended_sid_is_refused_until_its_sessions_could_have_ended(run_with_store):
    async def test(store):
        assert await store.end_by_logout_token(
            jti="jti-1", jti_until=NOW + 120, sid="sid-1", sub="user-1", sid_ended_until=NOW + HOUR
        )
        late = record("sid-1", at=NOW + 5)  # the callback of a login that began before the logout
        assert await store.start(late) is False
        assert await store.get(late.key) is None
        assert await store.start(record("sid-2", at=NOW + 5))  # another tenant session: fine
        # Once sid_ended_until has passed, no session of that sid can still be alive to protect.
        after = record("sid-1", at=NOW + HOUR + 1)
        assert await store.start(after) is True
        assert await store.get(after.key) == after

    run_with_store(test)


def test_a_second_logout_of_a_sid_never_shortens_how_long_it_stays_ended(run_with_store):
    async def test(store):
        args = dict(jti_until=NOW + 120, sid="sid-1", sub="user-1")
        assert await store.end_by_logout_token(jti="a", sid_ended_until=NOW + 2 * HOUR, **args)
        assert await store.end_by_logout_token(jti="b", sid_ended_until=NOW + HOUR, **args)
        assert await store.start(record("sid-1", at=NOW + HOUR + 1)) is False

    run_with_store(test)


def test_a_logout_token_naming_neither_sid_nor_sub_is_a_programming_error(run_with_store):
    async def test(store):
        with pytest.raises(ValueError):
            await store.end_by_logout_token(jti="j", jti_until=NOW, sid=None, sub=None, sid_ended_until=NOW)

    run_with_store(test)


# ---- SQLite: all or nothing ---------------------------------------------------------------------


def sqlite_store(tmp_path: Path) -> Any:
    return records.SqliteRecords(tmp_path / "sessions.sqlite3", busy_timeout=0.05)


def test_sqlite_a_locked_store_is_unavailable_and_the_same_token_then_works(tmp_path):
    async def main():
        store = sqlite_store(tmp_path)
        session = record("sid-1")
        assert await store.start(session)
        locker = sqlite3.connect(store.path, timeout=0, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        args = dict(jti="jti-1", jti_until=NOW + 120, sid="sid-1", sub="u", sid_ended_until=NOW + HOUR)
        with pytest.raises(records.StoreUnavailable):
            await store.end_by_logout_token(**args)
        locker.rollback()
        locker.close()
        assert not store.db.in_transaction  # the store's connection was left clean
        assert await store.end_by_logout_token(**args) is True  # the tenant's retry
        assert await store.get(session.key) is None

    asyncio.run(main())


def test_sqlite_a_failure_after_the_jti_is_written_rolls_the_jti_back(tmp_path):
    async def main():
        store = sqlite_store(tmp_path)
        sessions = [record("sid-1"), record("sid-1")]
        for each in sessions:
            assert await store.start(each)
        # A trigger makes the DELETE fail after the jti's INSERT, inside the same transaction.
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("CREATE TRIGGER fail BEFORE DELETE ON sessions BEGIN SELECT RAISE(ABORT, 'disk'); END")
        args = dict(jti="jti-1", jti_until=NOW + 120, sid="sid-1", sub="u", sid_ended_until=NOW + HOUR)
        with pytest.raises(records.StoreUnavailable):
            await store.end_by_logout_token(**args)
        assert other.execute("SELECT count(*) FROM logout_tokens").fetchone() == (0,)
        assert other.execute("SELECT count(*) FROM ended_sids").fetchone() == (0,)
        assert [await store.get(each.key) for each in sessions] == sessions
        other.execute("DROP TRIGGER fail")
        other.close()
        assert await store.end_by_logout_token(**args) is True
        assert [await store.get(each.key) for each in sessions] == [None, None]
        assert await store.start(record("sid-1", at=NOW + 1)) is False

    asyncio.run(main())


def test_sqlite_a_refused_start_leaves_no_transaction_open(tmp_path):
    async def main():
        store = sqlite_store(tmp_path)
        assert await store.end_by_logout_token(
            jti="j", jti_until=NOW + 120, sid="sid-1", sub="u", sid_ended_until=NOW + HOUR
        )
        assert await store.start(record("sid-1")) is False
        assert not store.db.in_transaction
        assert (
            await store.end_by_logout_token(
                jti="j", jti_until=NOW + 120, sid="sid-1", sub="u", sid_ended_until=NOW + HOUR
            )
            is False
        )
        assert not store.db.in_transaction

    asyncio.run(main())
