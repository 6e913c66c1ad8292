"""RedisRecords beyond the shared contract: its memory of records (kept honest by CLIENT TRACKING),
its atomic steps under concurrency, and a Redis that is dead or frozen. Each test runs instances
that share one real redis-server, as several app processes would."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import pytest
import redis as sync_redis
import redis.asyncio as redis

from tests.support.redis_server import DURABLE, PACKAGED_DEFAULTS, redis_server, running_redis
from tests.support.servers import free_port
from tests.support.steps import load_step

redis_records = load_step("03-Session-Handling/redis_records.py")
records = importlib.import_module("records")  # the module redis_records itself imports

NOW = time.time()
HOUR = 3600.0


def record(sid: str | None = "sid-1", sub: str = "user-1", *, at: float = NOW) -> Any:
    return records.SessionRecord(uuid.uuid4().hex, sid, sub, at, at, at + 8 * HOUR)


@contextlib.asynccontextmanager
async def instances(url: str, count: int = 2, **options: Any) -> AsyncIterator[list[Any]]:
    """`count` RedisRecords sharing one prefix (one app, several processes), closed at the end."""
    prefix = f"test-{uuid.uuid4().hex}"
    stores = [redis_records.RedisRecords(url, prefix=prefix, **options) for _ in range(count)]
    try:
        yield stores
    finally:
        for store in stores:
            await store.aclose()


def count_reads(store: Any) -> list[int]:
    """Counts the reads that reach Redis (the memory is what does not)."""
    reads = [0]
    real = store.redis.hgetall

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads[0] += 1
        return real(*args, **kwargs)

    store.redis.hgetall = counting
    return reads


async def until(condition: Callable[[], Awaitable[bool] | bool], within: float) -> float:
    """Poll every millisecond; the seconds it took, or fail after `within`."""
    started = time.monotonic()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.001)


async def _is_none(store: Any, session: Any) -> bool:
    return await store.get(session.key) is None


async def cached(store: Any, session: Any) -> None:
    """Read `session` on `store` until its memory holds it, and prove the next read needs no Redis."""
    await store.get(session.key)  # starts the invalidation connection
    await until(store._trusted, within=3)
    assert await store.get(session.key) == session
    reads = count_reads(store)
    assert await store.get(session.key) == session
    assert reads[0] == 0


def test_a_logout_on_one_instance_reaches_another_instances_memory_within_50_ms(redis_url):
    async def main():
        async with instances(redis_url) as (a, b):
            session = record()
            assert await a.start(session)
            await cached(b, session)
            await a.end(session.key)
            await until(lambda: _is_none(b, session), within=0.05)

    asyncio.run(main())


def test_a_back_channel_logout_on_one_instance_reaches_another_instances_memory(redis_url):
    async def main():
        async with instances(redis_url) as (a, b):
            session = record("sid-9")
            assert await a.start(session)
            await cached(b, session)
            assert await a.end_by_logout_token(
                jti="j", jti_until=NOW + HOUR, sid="sid-9", sub="u", sid_ended_until=NOW + HOUR
            )
            await until(lambda: _is_none(b, session), within=0.05)

    asyncio.run(main())


def test_a_touch_on_one_instance_is_seen_by_another_that_had_the_record_in_memory(redis_url):
    async def main():
        async with instances(redis_url) as (a, b):
            session = record()
            assert await a.start(session)
            await cached(b, session)
            await a.touch(session, NOW + 90)

            async def touched() -> bool:
                return (await b.get(session.key)).last_used_at == NOW + 90

            await until(touched, within=0.05)

    asyncio.run(main())


def test_while_the_invalidation_connection_is_re_made_a_revoked_record_is_never_served(redis_url):
    async def main():
        async with instances(redis_url) as (a, b):
            session = record()
            assert await a.start(session)
            await cached(b, session)
            killed = b.link_id
            killer = redis.Redis.from_url(redis_url)
            await killer.client_kill_filter(_id=str(killed))
            await a.end(session.key)  # while B has no reports
            # Every read until the new connection is up, and after, finds the session ended.
            while b.link_id in (None, killed):
                assert await b.get(session.key) is None
                await asyncio.sleep(0.001)
            assert await b.get(session.key) is None
            await killer.aclose()
            # And the memory works again on the new connection.
            again = record()
            assert await a.start(again)
            await cached(b, again)
            await a.end(again.key)
            await until(lambda: _is_none(b, again), within=0.05)

    asyncio.run(main())


def test_a_record_is_never_served_from_memory_past_its_expires_at(redis_url):
    async def main():
        clock = [NOW]
        async with instances(redis_url, clock=lambda: clock[0]) as (a, b):
            session = record()
            assert await a.start(session)
            await cached(b, session)
            reads = count_reads(b)
            clock[0] = session.expires_at
            await b.get(session.key)
            assert reads[0] == 1  # read from Redis, whose own expiry (EXPIREAT) is the authority

    asyncio.run(main())


def test_the_memory_is_bounded_least_recently_used_first(redis_url):
    async def main():
        async with instances(redis_url, cache_size=2) as (a, b):
            sessions = [record() for _ in range(3)]
            for each in sessions:
                assert await a.start(each)
            await cached(b, sessions[0])
            await cached(b, sessions[1])
            await b.get(sessions[0].key)  # the first is now the most recently used
            await cached(b, sessions[2])
            assert list(b._cache) == [sessions[0].key, sessions[2].key]

    asyncio.run(main())


def test_with_no_memory_every_read_goes_to_redis(redis_url):
    async def main():
        async with instances(redis_url, cache_size=0) as (a, b):
            session = record()
            assert await a.start(session)
            reads = count_reads(b)
            for _ in range(3):
                assert await b.get(session.key) == session
            assert reads[0] == 3
            assert b.link_id is None

    asyncio.run(main())


def test_logins_racing_back_channel_logouts_of_their_sid_never_outlive_them(redis_url):
    async def main():
        async with instances(redis_url) as (a, b):
            outcomes = set()
            for i in range(300):
                sid = f"race-{i}"
                login = record(sid)
                logout = b.end_by_logout_token(
                    jti=f"j-{i}", jti_until=NOW + HOUR, sid=sid, sub="u", sid_ended_until=NOW + HOUR
                )
                calls = [a.start(login), logout] if i % 2 else [logout, a.start(login)]
                results = await asyncio.gather(*calls)
                started = results[0] if i % 2 else results[1]
                outcomes.add(started)
                assert await a.get(login.key) is None
                assert await b.get(login.key) is None
            assert outcomes == {True, False}  # both orders happened

    asyncio.run(main())


def test_a_redis_failure_inside_the_logout_step_leaves_the_token_unused(redis_url):
    async def main():
        async with instances(redis_url, count=1) as (store,):
            session = record("sid-1")
            assert await store.start(session)
            raw = redis.Redis.from_url(redis_url, decode_responses=True)
            index = f"{store.prefix}:sid:sid-1"
            # A sid index of the wrong type makes the script fail after its first reads.
            await raw.delete(index)
            await raw.set(index, "not a set")
            args = dict(jti="j", jti_until=NOW + HOUR, sid="sid-1", sub="u", sid_ended_until=NOW + HOUR)
            with pytest.raises(records.StoreUnavailable):
                await store.end_by_logout_token(**args)
            assert await raw.exists(f"{store.prefix}:jti:j", f"{store.prefix}:ended-sid:sid-1") == 0
            await raw.delete(index)
            await raw.sadd(index, session.key)
            await raw.aclose()
            assert await store.end_by_logout_token(**args) is True  # the tenant's retry
            assert await store.get(session.key) is None

    asyncio.run(main())


def test_a_dead_redis_is_unavailable_within_the_socket_timeout():
    async def main():
        store = redis_records.RedisRecords(f"redis://127.0.0.1:{free_port()}/0")
        started = time.monotonic()
        with pytest.raises(records.StoreUnavailable):
            await store.get("any")
        assert time.monotonic() - started < 1.5
        await store.aclose()

    asyncio.run(main())


def test_a_frozen_redis_is_unavailable_within_two_seconds_even_for_a_record_in_memory(tmp_path):
    with running_redis(tmp_path) as url:

        async def main():
            info = await redis.Redis.from_url(url).info("server")
            pid = int(info["process_id"])
            async with instances(url) as (a, b):
                session = record()
                assert await a.start(session)
                await cached(b, session)
                os.kill(pid, signal.SIGSTOP)
                try:
                    frozen = time.monotonic()
                    while True:
                        asked = time.monotonic()
                        try:
                            assert await b.get(session.key) == session
                        except records.StoreUnavailable:
                            assert time.monotonic() - asked < 1.5
                            break
                        await asyncio.sleep(0.01)
                    assert time.monotonic() - frozen < 2.0
                    with pytest.raises(records.StoreUnavailable):
                        await b.get(record().key)  # and one it never had
                finally:
                    os.kill(pid, signal.SIGCONT)

        asyncio.run(main())


# ---- Memory never outlives what Redis knows ------------------------------------------------------


def test_a_record_changed_without_an_invalidation_report_is_not_served_from_memory_for_long(tmp_path):
    # SWAPDB swaps the data under every connection and sends no report: Redis's own word for "what
    # changed" is all the memory had, so only a bound on each record's age ends its use.
    with running_redis(tmp_path) as url:

        async def main():
            async with instances(url) as (a, b):
                session = record()
                assert await a.start(session)
                await cached(b, session)
                raw = redis.Redis.from_url(url)
                await raw.swapdb(0, 1)
                await raw.aclose()
                await until(lambda: _is_none(b, session), within=5)

        asyncio.run(main())


@pytest.mark.parametrize("logout", ["end", "end_by_logout_token"])
def test_a_logout_that_finds_nothing_to_delete_still_reaches_another_instances_memory(tmp_path, monkeypatch, logout):
    # Redis reports a DEL only when there was a key to delete. The record is gone from under the
    # data connections (SWAPDB) but still in B's memory: the logout must reach it all the same, not
    # wait for the memory's age limit (made an hour here, so only the logout itself can pass).
    monkeypatch.setattr(redis_records, "MAX_AGE", HOUR, raising=False)
    with running_redis(tmp_path) as url:

        async def main():
            async with instances(url) as (a, b):
                session = record("sid-7", "user-7")
                assert await a.start(session)
                await cached(b, session)
                raw = redis.Redis.from_url(url)
                await raw.swapdb(0, 1)
                await raw.aclose()
                if logout == "end":
                    await a.end(session.key)
                else:
                    assert await a.end_by_logout_token(
                        jti="j", jti_until=NOW + HOUR, sid="sid-7", sub="user-7", sid_ended_until=NOW + HOUR
                    )
                await until(lambda: _is_none(b, session), within=2)

        asyncio.run(main())


def test_a_logout_token_naming_only_a_user_whose_index_is_gone_still_reaches_memory(tmp_path, monkeypatch):
    # The same, for a logout token that names only the user (Back-Channel Logout §2.7).
    monkeypatch.setattr(redis_records, "MAX_AGE", HOUR, raising=False)
    with running_redis(tmp_path) as url:

        async def main():
            async with instances(url) as (a, b):
                session, other = record(None, "user-8"), record(None, "user-9")
                assert await a.start(session)
                assert await a.start(other)
                await cached(b, session)
                await cached(b, other)
                raw = redis.Redis.from_url(url)
                await raw.swapdb(0, 1)
                await raw.aclose()
                assert await a.end_by_logout_token(
                    jti="j", jti_until=NOW + HOUR, sid=None, sub="user-8", sid_ended_until=NOW + HOUR
                )
                await until(lambda: _is_none(b, session), within=2)
                reads = count_reads(b)
                assert await b.get(other.key) == other  # another user's stays in memory
                assert reads[0] == 0

        asyncio.run(main())


def test_an_instance_that_stalled_reads_redis_after_the_stall_not_its_memory(redis_url):
    # A blocking call (or SIGSTOP) holds the whole event loop: the logout's report waits unread in
    # the invalidation connection's socket, and the first request after the stall must not be
    # answered from memory before it is read.
    async def main():
        async with instances(redis_url) as (a, b):
            raw = sync_redis.Redis.from_url(redis_url)  # not asyncio: it works while the loop is stalled
            for _ in range(3):
                session = record()
                assert await a.start(session)
                await cached(b, session)
                raw.delete(f"{b.prefix}:session:{session.key}")  # another instance's logout
                time.sleep(0.15)  # noqa: ASYNC251  # the stall: on purpose, nothing else runs meanwhile
                assert await b.get(session.key) is None
            raw.close()

    asyncio.run(main())


# ---- Durability: what a crash of Redis keeps -----------------------------------------------------


async def _answers(store: Any, key: str) -> bool:
    try:
        await store.get(key)
    except records.StoreUnavailable:
        return False
    return True


@pytest.mark.parametrize(
    ("persistence", "kept"),
    [(DURABLE, True), (PACKAGED_DEFAULTS, False)],
    ids=["appendonly-yes-appendfsync-always", "packaged-defaults"],
)
def test_a_crash_of_redis_forgets_no_logout_only_with_an_append_only_file(tmp_path, caplog, persistence, kept):
    # As docs/redis.md says to check it: kill -9 redis-server, start it again from its files in the
    # same folder. The packaged defaults restart from the last snapshot (taken here while the
    # sessions were live), which is what the store's start-up line warns about.
    with redis_server(tmp_path, persistence) as server:

        async def main():
            async with instances(server.url) as (a, b):
                stolen = record("sid-c", "user-c")  # the cookie copied before Log Out
                ended = record("sid-d", "user-d")  # a session the tenant's back channel ends
                late = record("sid-d", "user-d")  # that tenant session's login finishing later
                assert await a.start(stolen)
                assert await a.start(ended)
                await cached(a, stolen)
                await cached(b, stolen)
                raw = redis.Redis.from_url(server.url)
                await raw.save()
                await raw.aclose()
                await a.end(stolen.key)
                logout = dict(
                    jti="j-crash", jti_until=NOW + HOUR, sid="sid-d", sub="user-d", sid_ended_until=NOW + HOUR
                )
                assert await b.end_by_logout_token(**logout)

                server.kill()
                server.start()
                for store in (a, b):
                    await until(partial(_answers, store, stolen.key), within=10)

                found = [await store.get(each.key) for store in (a, b) for each in (stolen, ended)]
                late_started = await b.start(late)
                replayed = await a.end_by_logout_token(**logout)
                if kept:
                    assert found == [None] * 4
                    assert late_started is False  # the ended sid is remembered
                    assert replayed is False  # and the used jti
                else:
                    assert found == [stolen, ended] * 2  # logged-out sessions are back
                    assert late_started is True
                    assert replayed is True

        asyncio.run(main())
    warned = [r.getMessage() for r in caplog.records if r.name == "tutorial" and r.levelname == "WARNING"]
    if kept:
        assert warned == []
    else:
        assert warned and all("keeps no append-only file" in line for line in warned)
        assert "appendonly yes" in warned[0] and "docs/redis.md" in warned[0]


@pytest.mark.parametrize(
    ("commands", "said"),
    [
        (["+@all", "-config"], "keeps no append-only file"),
        # docs/redis.md's ACL for the store, which allows neither CONFIG nor INFO
        (["+@read", "+@write", "+@transaction", "+@scripting", "+@pubsub", "+@connection"], "Could not ask"),
    ],
    ids=["config-refused", "config-and-info-refused"],
)
def test_the_start_up_line_is_one_line_when_a_managed_redis_refuses_config_get(redis_url, caplog, commands, said):
    name, password = f"limited-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = sync_redis.Redis.from_url(redis_url)
    admin.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=commands)
    try:
        url = redis_url.replace("redis://", f"redis://{name}:{password}@")

        async def main():
            async with instances(url, count=1) as (store,):
                session = record()
                assert await store.start(session)
                await cached(store, session)  # the store itself works, its memory too
                await store.end(session.key)
                assert await store.get(session.key) is None

        asyncio.run(main())
    finally:
        admin.acl_deluser(name)
        admin.close()
    lines = [r for r in caplog.records if r.name == "tutorial"]
    assert len(lines) == 1
    assert lines[0].levelname == "WARNING" and lines[0].exc_info is None
    message = lines[0].getMessage()
    assert said in message and "appendonly yes" in message
    assert "\n" not in message and password not in message


def test_the_start_up_line_says_nothing_alarming_when_redis_keeps_an_append_only_file(tmp_path, caplog):
    caplog.set_level("INFO", logger="tutorial")
    with running_redis(tmp_path, ("--appendonly", "yes", "--appendfsync", "everysec")) as url:
        redis_records.RedisRecords(url)
    [line] = [r for r in caplog.records if r.name == "tutorial"]
    assert line.levelname == "INFO" and "appendfsync everysec" in line.getMessage()
