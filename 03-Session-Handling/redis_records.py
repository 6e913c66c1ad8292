"""The session records in Redis: every instance of step 03 sharing the server shares its logouts.

A learner can skip this file until running several instances behind a load balancer: it has the
same methods as records.SqliteRecords, and open_records() there picks it when SESSION_STORE_URL is
set.

What it adds is a memory of the records this process has read, so that most requests need no
round trip to Redis — kept honest by Redis itself (server-assisted client-side caching): one
connection per process asks Redis to report every change to a session key (CLIENT TRACKING in
broadcast mode), and a logout on any instance removes that record from every other instance's
memory as soon as the report arrives. Redis reports only what it changed, so a logout that finds
nothing to delete also says so itself on the app's channel, which that connection listens to.

Memory is used only while all three hold, and otherwise the record is read from Redis:
- that connection was last read to the end less than FRESH seconds ago: a process that stalled
  (a blocking call, SIGSTOP) reads Redis until the reports that queued up meanwhile are read;
- its latest ping came back less than LEASE seconds ago: an instance cut off from Redis stops
  trusting its memory within LEASE and reads Redis (or answers 503);
- the record was read from Redis less than MAX_AGE seconds ago: a change Redis never reports
  (SWAPDB, a restore from a backup) is seen within MAX_AGE.
While the connection is down or being set up again, memory is empty and every read goes to Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from records import SessionRecord, StoreUnavailable
from redis_durability import durability

HEARTBEAT = 0.2  # seconds between pings on the invalidation connection
LEASE = 0.5  # how long a ping's answer shows that Redis is there and reporting
READ_EVERY = 0.01  # the invalidation connection is read at least this often…
FRESH = 0.05  # …and memory is used only while it last had nothing left to read this recently
MAX_AGE = 1.0  # the longest a record read from Redis is served from memory
PONG_TIMEOUT = 1.0  # an unanswered ping means the connection is dead: like the socket timeouts
INVALIDATE = "__redis__:invalidate"

log = logging.getLogger("tutorial")

# Each script runs as one atomic step in Redis: no login can land between its reads and writes.
# A script is not rolled back when a command in it fails, so the jti is written last: a failure
# part way leaves it unused and the tenant's retry of the same token redoes the (repeatable) rest.
# The scripts name session keys they find in an index, so they need one Redis server (with or
# without replicas), not Redis Cluster. The index may lack a record that an instance holds in
# memory (it was swapped or restored away): the logout is published as well, by sid or sub.
END_BY_LOGOUT_TOKEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local keys = redis.call('SMEMBERS', KEYS[2])
for _, key in ipairs(keys) do redis.call('DEL', ARGV[4] .. key) end
redis.call('DEL', KEYS[2])
if ARGV[3] == '1' then
  local ended = tonumber(redis.call('GET', KEYS[3]) or '0')
  if tonumber(ARGV[2]) > ended then
    redis.call('SET', KEYS[3], ARGV[2], 'EXAT', math.floor(tonumber(ARGV[2])) + 1)
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1])
return keys
"""
# Redis reports the DEL only if there was a key to delete: a record that another instance still
# holds in memory may be gone from Redis unreported (SWAPDB), so the logout says itself which record
# ended, in the same atomic step.
END = """
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
"""
START = """
if ARGV[1] ~= '' then
  local ended = redis.call('GET', KEYS[4])
  if ended and tonumber(ended) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'sub', ARGV[2], 'started_at', ARGV[3],
  'last_used_at', ARGV[4], 'expires_at', ARGV[5])
redis.call('EXPIREAT', KEYS[1], ARGV[6])
for i = 2, 3 do
  if i == 3 or ARGV[1] ~= '' then
    redis.call('SADD', KEYS[i], ARGV[7])
    redis.call('EXPIREAT', KEYS[i], ARGV[6], 'GT')
    redis.call('EXPIREAT', KEYS[i], ARGV[6], 'NX')
  end
end
return 1
"""


class _Read:
    """A read of one key in flight: marked stale if that key changes before its answer is used."""

    __slots__ = ("stale",)

    def __init__(self) -> None:
        self.stale = False


class RedisRecords:
    """Records in Redis (redis-py's asyncio client): every instance sharing the server shares
    logouts.

    A record is a hash that Redis itself deletes at its absolute end (EXPIREAT); two sets index the
    records of one `sid` and one `sub` for back-channel logout; a key per ended `sid` refuses its
    late logins; every logout is also published on the channel `<prefix>:logouts`. `cache_size`
    bounds the records kept in memory (least recently used go first); 0 turns the memory off.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "step03",
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Short timeouts: a store that does not answer must become a 503 page quickly, not a hung
        # request.
        self.redis = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
        )
        parts = self.redis.connection_pool.connection_kwargs  # the URL parsed, without its password
        host = parts.get("host", parts.get("path", url))
        self.where = f"Redis at {host}:{parts.get('port', '')}".rstrip(":")
        self.prefix = prefix
        self.cache_size = cache_size
        self.clock = clock
        self.link_id: int | None = None  # the invalidation connection's CLIENT ID while it is up
        self.logouts = f"{prefix}:logouts"  # the channel of logouts, for those Redis cannot report
        # Each record with the time.monotonic() its read was sent: its age counts from there.
        self._cache: OrderedDict[str, tuple[SessionRecord, float]] = OrderedDict()
        self._reads: dict[str, list[_Read]] = {}
        self._trusted_until = 0.0  # time.monotonic(): the lease of the latest ping's answer
        self._read_at = 0.0  # time.monotonic(): when the link last began a read that found nothing
        self._link: asyncio.Task[None] | None = None
        self._closed = False
        self._start = self.redis.register_script(START)
        self._end = self.redis.register_script(END)
        self._end_by_logout_token = self.redis.register_script(END_BY_LOGOUT_TOKEN)
        log.log(*durability(url, self.where))

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    async def start(self, record: SessionRecord) -> bool:
        until = int(record.expires_at) + 1
        keys = [
            self._key("session", record.key),
            self._key("sid", record.sid or ""),
            self._key("sub", record.sub),
            self._key("ended-sid", record.sid or ""),
        ]
        args: list[str | int] = [
            record.sid or "",
            record.sub,
            repr(record.started_at),
            repr(record.last_used_at),
            repr(record.expires_at),
            until,
            record.key,
        ]
        try:
            started = await self._start(keys=keys, args=args)
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        finally:
            self._forget(record.key)
        return bool(started)

    async def get(self, key: str) -> SessionRecord | None:
        self._keep_link()
        if self._trusted():
            held = self._cache.get(key)
            if held is not None:
                record, read_at = held
                if time.monotonic() - read_at < MAX_AGE and record.expires_at > self.clock():
                    self._cache.move_to_end(key)
                    return record
                del self._cache[key]
        read = _Read()
        self._reads.setdefault(key, []).append(read)
        sent = time.monotonic()
        try:
            raw = await self.redis.hgetall(self._key("session", key))
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        finally:
            reads = self._reads[key]
            reads.remove(read)
            if not reads:
                del self._reads[key]
        fields = {str(name): str(value) for name, value in raw.items()}
        if "sub" not in fields:  # none, or only a touch that raced a logout
            return None
        record = SessionRecord(
            key,
            fields["sid"] or None,
            fields["sub"],
            float(fields["started_at"]),
            float(fields["last_used_at"]),
            float(fields["expires_at"]),
        )
        if self.cache_size and not read.stale and self._trusted():
            self._cache[key] = (record, sent)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return record

    async def touch(self, record: SessionRecord, now: float) -> None:
        key = self._key("session", record.key)
        try:
            # If a logout deleted the record meanwhile, this writes a lone field that get() ignores
            # and that expires with the session: a touch never brings a session back.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, "last_used_at", now)
                pipe.expireat(key, int(record.expires_at) + 1)
                await pipe.execute()
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        finally:
            # Forgotten rather than updated: an update could bring back a record that a logout
            # elsewhere deleted just before; the next get() reads the touched one.
            self._forget(record.key)

    async def end(self, key: str) -> None:
        try:
            await self._end(keys=[self._key("session", key)], args=[self.logouts, f"session:{key}"])
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        finally:
            self._forget(key)

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
        index = self._key("sid", sid) if sid else self._key("sub", sub or "")
        keys = [self._key("jti", jti), index, self._key("ended-sid", sid or "")]
        args: list[str | int] = [
            int(jti_until) + 1,
            repr(sid_ended_until),
            "1" if sid else "0",
            self._key("session", ""),
            self.logouts,
            f"sid:{sid}" if sid else f"sub:{sub}",
        ]
        try:
            ended: list[str] | None = await self._end_by_logout_token(keys=keys, args=args)
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        for key in ended or ():
            self._forget(key)
        return ended is not None

    async def aclose(self) -> None:
        """Stop the invalidation connection and close the client (at the app's shutdown)."""
        self._closed = True
        link, self._link = self._link, None
        # Cancelled until it is done: redis-py's connect() can swallow a cancellation.
        while (
            link is not None and not link.done() and link.get_loop() is asyncio.get_running_loop()
        ):
            link.cancel()
            await asyncio.wait([link], timeout=0.05)
        self._forget_all()
        await self.redis.aclose()

    # ---- The memory and its invalidation connection ----------------------------------------------

    def _trusted(self) -> bool:
        now = time.monotonic()
        return now < self._trusted_until and now - self._read_at < FRESH

    def _forget(self, key: str) -> None:
        self._cache.pop(key, None)
        for read in self._reads.get(key, ()):
            read.stale = True

    def _forget_logout(self, message: str) -> None:
        """A logout published on the channel: "session:KEY", "sid:SID" or "sub:SUB"."""
        kind, _, name = message.partition(":")
        if kind == "session":
            self._forget(name)
            return
        for key, (record, _) in list(self._cache.items()):
            if (record.sid if kind == "sid" else record.sub) == name:
                del self._cache[key]
        for reads in self._reads.values():  # their sid and sub are not known until they answer
            for read in reads:
                read.stale = True

    def _forget_all(self) -> None:
        self._trusted_until = 0.0
        self._cache.clear()
        for reads in self._reads.values():
            for read in reads:
                read.stale = True

    def _keep_link(self) -> None:
        if not self.cache_size or self._closed:
            return
        loop = asyncio.get_running_loop()
        if self._link is None or self._link.done() or self._link.get_loop() is not loop:
            self._link = loop.create_task(self._run_link())

    async def _run_link(self) -> None:
        delay = 0.05
        while True:
            pool = self.redis.connection_pool
            # RESP2 on purpose: the reports come as ordinary pub/sub messages on this connection,
            # read with redis-py's public connection API (redis-py's own client-side cache is not
            # in its asyncio client).
            connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 2})
            try:
                await self._track(connection)
            except (RedisError, OSError):
                pass  # the next get() reads Redis and reports the outage itself
            finally:
                if self.link_id is not None:  # it was up: the first retry comes at once
                    delay = 0.05
                self.link_id = None
                self._forget_all()
                with contextlib.suppress(RedisError, OSError):
                    await connection.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _command(self, connection: AbstractConnection, *args: object) -> Any:
        await connection.send_command(*args)
        return await connection.read_response()

    async def _track(self, connection: AbstractConnection) -> None:
        await connection.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        link_id = int(await self._command(connection, "CLIENT", "ID"))
        # Broadcast mode: every change to a key under the prefix is reported, whoever reads it, so
        # the data connections need no tracking of their own. The reports are sent to this same
        # connection, so one connection failing ends both the tracking and its reports.
        prefix = self._key("session", "")
        await self._command(
            connection, "CLIENT", "TRACKING", "ON", "REDIRECT", link_id, "BCAST", "PREFIX", prefix
        )
        await connection.send_command("SUBSCRIBE", INVALIDATE, self.logouts)
        for _ in range(2):  # one confirmation per channel
            await connection.read_response()
        self.link_id = link_id
        # Reads that began before tracking did may hold a change it never reported.
        self._forget_all()
        ping_sent: float | None = None
        next_ping = time.monotonic()
        follow_up = False
        while True:
            now = time.monotonic()
            if ping_sent is None and now >= next_ping:
                await connection.send_command("PING")
                ping_sent = now
            if ping_sent is not None and now - ping_sent > PONG_TIMEOUT:
                raise RedisTimeout("the invalidation connection stopped answering")
            wake = ping_sent + PONG_TIMEOUT if ping_sent is not None else next_ping
            # A read that finds nothing shows that every report sent before it began has been
            # handled: memory is as current as that moment. A read that waits, though, may end
            # with a report just arrived but not yet read (after a stall, the wait began before
            # it), and one that returns a report shows nothing about the next: either is followed
            # by a read that does not wait, and only that one vouches for the memory.
            timeout = 0 if follow_up else min(max(wake - now, 0.001), READ_EVERY)
            message = await connection.read_response(timeout=timeout)
            if not message:  # the wait ran out: time to ping, or to read again
                if follow_up:
                    self._read_at = now
                follow_up = not follow_up
                continue
            follow_up = True
            if message[0] == "pong" and ping_sent is not None:
                # Redis answers in order: every change made before this ping was reported above.
                self._trusted_until = ping_sent + LEASE
                next_ping = ping_sent + HEARTBEAT
                ping_sent = None
            elif message[0] == "message" and message[1] == self.logouts:
                self._forget_logout(str(message[2]))
            elif message[0] == "message" and message[1] == INVALIDATE:
                if message[2] is None:  # FLUSHDB, FLUSHALL: everything changed
                    self._forget_all()
                    continue
                for key in message[2]:
                    self._forget(str(key).removeprefix(prefix))
