"""The fast path for full sections: refuse without touching the database.

When a claim finds a section full, the section is flagged full for a short while; attempts
that meet the flag are refused at once, before any transaction. A drop or a change to the
section clears the flag after its commit, and the flag expires by itself after `ttl`, so a
lost clear costs at most that long. Correctness never rests on this: a stale flag can only
refuse early; the claim statement alone decides who gets a seat.
"""

import time
from typing import Protocol

from redis.exceptions import RedisError

from sugang.redis_client import redis_client

TTL_SECONDS = 2.0


class FullSections(Protocol):
    async def capacity_if_full(self, section_id: int) -> int | None: ...

    async def mark_full(self, section_id: int, capacity: int) -> None: ...

    async def clear(self, section_id: int) -> None: ...

    async def close(self) -> None: ...


class LocalFullSections:
    """In this process only: with several processes and no Redis, a clear in one process
    reaches the others when their flag expires (at most `ttl` later)."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._flags: dict[int, tuple[float, int]] = {}

    async def capacity_if_full(self, section_id: int) -> int | None:
        flag = self._flags.get(section_id)
        if flag is None or flag[0] <= time.monotonic():
            return None
        return flag[1]

    async def mark_full(self, section_id: int, capacity: int) -> None:
        self._flags[section_id] = (time.monotonic() + self.ttl, capacity)

    async def clear(self, section_id: int) -> None:
        self._flags.pop(section_id, None)

    async def close(self) -> None:
        return None


class RedisFullSections:
    """Shared by every replica. If Redis cannot be reached, nothing is flagged and every
    attempt takes the database path, which is correct, only slower."""

    def __init__(self, url: str, ttl: float = TTL_SECONDS, prefix: str = "sugang") -> None:
        self.redis = redis_client(url, timeout=0.2)
        self.ttl_ms = int(ttl * 1000)
        self.prefix = prefix

    def _key(self, section_id: int) -> str:
        return f"{self.prefix}:full:{section_id}"

    async def capacity_if_full(self, section_id: int) -> int | None:
        try:
            value = await self.redis.get(self._key(section_id))
        except (RedisError, OSError):
            return None
        return None if value is None else int(value)

    async def mark_full(self, section_id: int, capacity: int) -> None:
        try:
            await self.redis.set(self._key(section_id), capacity, px=self.ttl_ms)
        except (RedisError, OSError):
            return

    async def clear(self, section_id: int) -> None:
        try:
            await self.redis.delete(self._key(section_id))
        except (RedisError, OSError):
            return  # the flag expires by itself

    async def close(self) -> None:
        await self.redis.aclose()
