"""One way to connect to Redis: a bounded pool that makes a burst wait for a connection
(redis-py's default pool fails at once past 100 connections), to one server by URL or to
whichever server Redis Sentinel says is the master now (it follows a failover by itself)."""

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from sugang.config import RedisTarget


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The master's address from the sentinels, and a burst waits for a free connection."""


class _SentinelClient(aioredis.Redis):
    """Closes the sentinels' connections with its own."""

    watchers: tuple["aioredis.Redis", ...] = ()  # the sentinels' own clients

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for watcher in self.watchers:
            await watcher.aclose()


def redis_client(
    target: RedisTarget,
    *,
    timeout: float,
    max_connections: int = 64,
    decode_responses: bool = False,
    subscriber: bool = False,
) -> "aioredis.Redis":
    """`subscriber`: for a pub/sub listener, whose reads wait for messages with no timeout."""
    socket_timeout = None if subscriber else timeout
    if isinstance(target, str):
        pool = aioredis.BlockingConnectionPool.from_url(
            target,
            max_connections=max_connections,
            timeout=timeout,  # how long a request waits for a free connection
            socket_timeout=socket_timeout,
            socket_connect_timeout=timeout,
            decode_responses=decode_responses,
        )
        return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.addresses),
        # a sentinel that knows no other (just restarted, or cut off) may name a stale primary
        min_other_sentinels=1 if len(target.addresses) > 1 else 0,
        sentinel_kwargs={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "password": target.password,  # the sentinels' requirepass
        },
    )
    options: dict[str, Any] = {
        "db": target.db,
        "password": target.password,
        "max_connections": max_connections,
        "timeout": timeout,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": decode_responses,
    }
    client = sentinel.master_for(
        target.master,
        redis_class=_SentinelClient,
        connection_pool_class=_BlockingSentinelPool,
        **options,
    )
    assert isinstance(client, _SentinelClient)
    client.watchers = tuple(sentinel.sentinels)
    return client
