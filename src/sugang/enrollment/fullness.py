"""The fast path for full sections: refuse without touching the database.

When a claim finds a section full, the section is flagged full for a short while; attempts
that meet the flag are refused at once, before any transaction. A drop or a change to the
section clears the flag after its commit, and the flag expires by itself after `ttl`, so a
lost clear costs at most that long. Correctness never rests on this: a stale flag can only
refuse early; the claim statement alone decides who gets a seat.

Flags are read from this process's memory, never over the network: the check is on every
attempt of the rush. With Redis, each replica's marks and clears are published to the
others, which apply them as they arrive (within milliseconds); a replica that misses a
message (Redis restarting) is at most `ttl` out of date.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from redis.exceptions import RedisError

from sugang.config import RedisTarget
from sugang.db.redis import redis_client

TTL_SECONDS = 2.0
# When a flag lapses, one attempt goes to the database to look again and the others at that
# section wait for what it finds (at most this long, then they look too). Without it, every
# attempt in flight at a hot section went to the database at once each time its flag lapsed
# (every 2 s): the pool's queue grew by hundreds, and a refusal took up to a second.
LOOK_WAIT_SECONDS = 0.5

log = logging.getLogger("sugang.fullness")


class FullSections(Protocol):
    async def capacity_if_full(self, section_id: int) -> int | None: ...

    async def mark_full(self, section_id: int, capacity: int) -> None: ...

    async def clear(self, section_id: int) -> None: ...

    def seat_taken(self, section_id: int) -> None:
        """A claim here just succeeded: a flag this process holds for it is stale (the
        seats changed without a clear reaching here); no one else is told."""

    def attempt_over(self, section_id: int) -> None:
        """An attempt that passed the flag is answered: if it was the one looking and found
        neither full nor a seat (refused for another reason), the ones waiting look too."""

    async def close(self) -> None: ...


class LocalFullSections:
    """In this process only: with several processes and no Redis, a clear in one process
    reaches the others when their flag expires (at most `ttl` later)."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._flags: dict[int, tuple[float, int]] = {}
        # Lapsed flags being looked at: what the look will find, and the task looking.
        self._looks: dict[int, tuple[asyncio.Future[int | None], asyncio.Task[Any] | None]] = {}

    async def capacity_if_full(self, section_id: int) -> int | None:
        """The capacity of a section flagged full, or None: look in the database. Of the
        attempts that meet a lapsed flag, the first looks and the others wait for it."""
        flag = self._flags.get(section_id)
        if flag is None:
            return None
        expires, capacity = flag
        if expires > time.monotonic():
            return capacity
        look = self._looks.get(section_id)
        if look is None or look[0].get_loop() is not asyncio.get_running_loop():
            found = asyncio.get_running_loop().create_future()
            self._looks[section_id] = (found, asyncio.current_task())
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(look[0]), LOOK_WAIT_SECONDS)
        except TimeoutError:
            return None

    async def mark_full(self, section_id: int, capacity: int) -> None:
        self.set(section_id, capacity, self.ttl)

    def set(self, section_id: int, capacity: int, ttl: float) -> None:
        self._flags[section_id] = (time.monotonic() + ttl, capacity)
        self._found(section_id, capacity)

    async def clear(self, section_id: int) -> None:
        self.forget(section_id)

    def forget(self, section_id: int) -> None:
        self._flags.pop(section_id, None)
        self._found(section_id, None)

    def seat_taken(self, section_id: int) -> None:
        self.forget(section_id)

    def attempt_over(self, section_id: int) -> None:
        look = self._looks.get(section_id)
        if look is not None and look[1] is asyncio.current_task():
            self._found(section_id, None)

    def _found(self, section_id: int, capacity: int | None) -> None:
        look = self._looks.pop(section_id, None)
        if look is not None and not look[0].done():
            look[0].set_result(capacity)

    async def close(self) -> None:
        return None


class RedisFullSections:
    """Flags kept in this process, marks and clears shared with every replica over Redis
    pub/sub. If Redis cannot be reached, each replica keeps only its own flags: correct, and
    a clear elsewhere reaches it when its flag expires."""

    def __init__(
        self, target: RedisTarget, ttl: float = TTL_SECONDS, prefix: str = "sugang"
    ) -> None:
        self.redis = redis_client(target, timeout=0.5)
        self.subscriber = redis_client(target, timeout=0.5, max_connections=2, subscriber=True)
        self.local = LocalFullSections(ttl)
        self.channel = f"{prefix}:full-sections"
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closed = False

    async def capacity_if_full(self, section_id: int) -> int | None:
        self._listen()
        return await self.local.capacity_if_full(section_id)

    async def mark_full(self, section_id: int, capacity: int) -> None:
        self._listen()
        self.local.set(section_id, capacity, self.local.ttl)
        await self._publish(f"full {section_id} {capacity}")

    async def clear(self, section_id: int) -> None:
        self._listen()
        self.local.forget(section_id)
        await self._publish(f"clear {section_id}")

    def seat_taken(self, section_id: int) -> None:
        self.local.forget(section_id)

    def attempt_over(self, section_id: int) -> None:
        self.local.attempt_over(section_id)

    async def subscribed(self) -> None:
        """Wait until this replica hears the others (tests; the service never waits)."""
        self._listen()
        await self._subscribed.wait()

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self.redis.aclose()
        await self.subscriber.aclose()

    async def _publish(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except (RedisError, OSError):
            return  # the others learn from their own claims, or their flags expire

    def _listen(self) -> None:
        if not self._closed and (self._listener is None or self._listener.done()):
            self._listener = asyncio.create_task(self._listen_forever())

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with self.subscriber.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        self._apply(message["data"])
            except (RedisError, OSError) as error:
                self._subscribed.clear()
                log.warning("full-section flags not shared (retrying in 1 s): %r", error)
                await asyncio.sleep(1.0)

    def _apply(self, data: bytes | str) -> None:
        text = data.decode(errors="replace") if isinstance(data, bytes) else data
        match text.split():
            case ["full", section, capacity] if section.isdigit() and capacity.isdigit():
                self.local.set(int(section), int(capacity), self.local.ttl)
            case ["clear", section] if section.isdigit():
                self.local.forget(int(section))
            case _:
                log.warning("ignored a full-section message %r", text[:100])
