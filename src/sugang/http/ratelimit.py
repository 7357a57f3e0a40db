"""Token buckets per student and per client address, in Redis (shared by replicas) or in
this process. A request over its bucket is answered 429 with Retry-After.

If Redis cannot be reached the limiter lets requests through: it protects the service from
floods, while who may enroll is the waiting room's decision, which fails closed.
"""

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request
from redis.exceptions import RedisError

from sugang.clock import Clock
from sugang.config import RedisTarget, Settings
from sugang.db.redis import redis_client
from sugang.errors import RateLimited
from sugang.http.deps import bearer


@dataclass(frozen=True)
class Bucket:
    per_second: float
    burst: int


class Limiter(Protocol):
    async def wait_seconds(self, key: str, bucket: Bucket, now: float) -> float:
        """0 if a token was taken; else how long until one will be there."""
        ...

    async def close(self) -> None: ...


def refill(tokens: float, last: float, now: float, bucket: Bucket) -> float:
    return min(float(bucket.burst), tokens + max(0.0, now - last) * bucket.per_second)


class MemoryLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys

    async def wait_seconds(self, key: str, bucket: Bucket, now: float) -> float:
        tokens, last = self._buckets.pop(key, (float(bucket.burst), now))
        tokens = refill(tokens, last, now, bucket)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / bucket.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    async def close(self) -> None:
        return None


_TAKE = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'ts') or ARGV[1])
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisLimiter:
    def __init__(self, target: RedisTarget, prefix: str = "sugang") -> None:
        self.redis = redis_client(target, timeout=0.2)
        self._take = self.redis.register_script(_TAKE)
        self.prefix = prefix

    async def wait_seconds(self, key: str, bucket: Bucket, now: float) -> float:
        try:
            answer = await self._take(
                keys=[f"{self.prefix}:rl:{key}"], args=[now, bucket.per_second, bucket.burst]
            )
        except (RedisError, OSError):
            return 0.0
        return float(answer)

    async def close(self) -> None:
        await self.redis.aclose()


class RateLimit:
    """The dependency applied to every /api route: the client address's bucket, then the
    caller's (`user_of` reads the user id from a bearer token, None if it is not valid)."""

    def __init__(
        self,
        settings: Settings,
        limiter: Limiter,
        clock: Clock,
        user_of: Callable[[str], int | None],
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.clock = clock
        self.user_of = user_of

    async def __call__(self, request: Request) -> None:
        settings = self.settings
        if not settings.rate_limit_enabled or not request.url.path.startswith("/api/"):
            return
        now = self.clock().timestamp()
        client = request.client.host if request.client else "unknown"
        ip_bucket = Bucket(settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst)
        checks = [(f"ip:{client}", ip_bucket)]
        if token := bearer(request):
            user_id = self.user_of(token)
            if user_id is not None:
                user_bucket = Bucket(
                    settings.rate_limit_student_per_second, settings.rate_limit_student_burst
                )
                checks.append((f"user:{user_id}", user_bucket))
        for key, bucket in checks:
            wait = await self.limiter.wait_seconds(key, bucket, now)
            if wait > 0:
                raise RateLimited(retry_after=math.ceil(wait))
