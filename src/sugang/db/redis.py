"""One way to connect to Redis: a bounded pool that makes a burst wait for a connection
(redis-py's default pool fails at once past 100 connections)."""

import redis.asyncio as aioredis


def redis_client(
    url: str,
    *,
    timeout: float,
    max_connections: int = 64,
    decode_responses: bool = False,
    subscriber: bool = False,
) -> "aioredis.Redis":
    """`subscriber`: for a pub/sub listener, whose reads wait for messages with no timeout."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,  # how long a request waits for a free connection
        socket_timeout=None if subscriber else timeout,
        socket_connect_timeout=timeout,
        decode_responses=decode_responses,
    )
    return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
