"""The session records in Redis: every instance of step 03 sharing the server shares its logouts.

Same methods as records.SqliteRecords; open_records() there picks this one when SESSION_STORE_URL
is set.
"""

from __future__ import annotations

import redis.asyncio as redis
from redis.exceptions import RedisError

from records import SessionRecord, StoreUnavailable


class RedisRecords:
    """Records in Redis (redis-py's asyncio client): every instance sharing the server shares logouts.

    A record is a hash that Redis itself deletes at its absolute end (EXPIREAT); two sets index the
    records of one `sid` and one `sub` for back-channel logout.
    """

    def __init__(self, url: str, *, prefix: str = "step03") -> None:
        # Short timeouts: a store that does not answer must become a 503 page quickly, not a hung request.
        self.redis = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
        )
        parts = self.redis.connection_pool.connection_kwargs  # the URL parsed, without its password
        self.where = (
            f"Redis at {parts.get('host', parts.get('path', url))}:{parts.get('port', '')}".rstrip(
                ":"
            )
        )
        self.prefix = prefix

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    async def start(self, record: SessionRecord) -> None:
        until = int(record.expires_at) + 1
        fields = {
            "sid": record.sid or "",
            "sub": record.sub,
            "started_at": record.started_at,
            "last_used_at": record.last_used_at,
            "expires_at": record.expires_at,
        }
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key("session", record.key), mapping=fields)  # type: ignore[arg-type]  # redis-py's key type is invariant
                pipe.expireat(self._key("session", record.key), until)
                for kind, value in (("sid", record.sid), ("sub", record.sub)):
                    if value:
                        pipe.sadd(self._key(kind, value), record.key)
                        pipe.expireat(self._key(kind, value), until, gt=True)
                        pipe.expireat(self._key(kind, value), until, nx=True)
                await pipe.execute()
        except RedisError as error:
            raise StoreUnavailable(self.where) from error

    async def get(self, key: str) -> SessionRecord | None:
        try:
            fields = {
                str(name): str(value)
                for name, value in (await self.redis.hgetall(self._key("session", key))).items()
            }
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        if "sub" not in fields:  # none, or only a touch that raced a logout
            return None
        return SessionRecord(
            key,
            str(fields["sid"]) or None,
            str(fields["sub"]),
            float(fields["started_at"]),
            float(fields["last_used_at"]),
            float(fields["expires_at"]),
        )

    async def touch(self, record: SessionRecord, now: float) -> None:
        key = self._key("session", record.key)
        try:
            # If a logout deleted the record meanwhile, this writes a lone field that get() ignores and
            # that expires with the session: a touch never brings a session back.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, "last_used_at", now)
                pipe.expireat(key, int(record.expires_at) + 1)
                await pipe.execute()
        except RedisError as error:
            raise StoreUnavailable(self.where) from error

    async def end(self, key: str) -> None:
        try:
            await self.redis.delete(self._key("session", key))
        except RedisError as error:
            raise StoreUnavailable(self.where) from error

    async def end_matching(self, *, sid: str | None, sub: str | None) -> int:
        index = self._key("sid", sid) if sid else self._key("sub", sub or "")
        try:
            keys = await self.redis.smembers(index)
            if not keys:
                return 0
            ended: int = await self.redis.delete(*(self._key("session", str(key)) for key in keys))
            await self.redis.delete(index)
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
        return ended

    async def first_use_of(self, jti: str, until: float) -> bool:
        try:
            return bool(
                await self.redis.set(self._key("jti", jti), 1, nx=True, exat=int(until) + 1)
            )
        except RedisError as error:
            raise StoreUnavailable(self.where) from error
