"""Whether the Redis holding step 03's records keeps them through a crash: one line at start.

Redis keeps what it holds in memory; a session store needs it to keep its writes on disk too, or a
crash of Redis brings logged-out sessions back (docs/redis.md).
"""

from __future__ import annotations

import logging

import redis
from redis.exceptions import RedisError, ResponseError


def durability(url: str, where: str) -> tuple[int, str]:
    """What a crash of that Redis would do to the records, as a log level and one line.

    Without an append-only file Redis restarts from its last snapshot, taken minutes before:
    sessions that were logged out since are back, ended `sid`s and used `jti`s forgotten.
    """
    client = redis.Redis.from_url(
        url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
    )
    fix = "set appendonly yes and appendfsync everysec or always (docs/redis.md)"
    try:
        try:
            config = client.config_get("appendonly", "appendfsync")
            appendonly, appendfsync = config.get("appendonly"), config.get("appendfsync")
        except ResponseError:  # managed Redis services often refuse CONFIG, but answer INFO
            kept = client.info("persistence").get("aof_enabled")
            appendonly, appendfsync = ("yes" if kept else "no"), None
    except RedisError as error:
        reason = " ".join(str(error).split())
        return logging.WARNING, (
            f"Could not ask {where} whether it keeps an append-only file ({reason}); "
            f"without one a crash of Redis brings logged-out sessions back: {fix}."
        )
    finally:
        client.close()
    if appendonly != "yes":
        return logging.WARNING, (
            f"{where} keeps no append-only file (appendonly no): a crash of Redis would bring "
            f"logged-out sessions back from its last snapshot; {fix}."
        )
    if appendfsync == "no":
        return logging.WARNING, (
            f"{where} leaves syncing its append-only file to the system (appendfsync no): a power "
            f"cut could bring back the last half-minute's logged-out sessions; {fix}."
        )
    return logging.INFO, f"{where} keeps an append-only file (appendfsync {appendfsync or '?'})."
