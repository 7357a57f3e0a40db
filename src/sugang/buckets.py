"""Token buckets, in Redis (shared by every replica) or in this process: the rate limits
(sugang.http.ratelimit) and the login throttle (sugang.auth.throttle) count with them.

If Redis cannot be reached a bucket lets requests through: the buckets protect the service
from floods, while who may enroll is the waiting room's decision, which fails closed.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import RedisError

from sugang.config import RedisTarget
from sugang.db.redis import redis_client


@dataclass(frozen=True)
class Bucket:
    per_second: float
    burst: int


class Limiter(Protocol):
    async def take(self, key: str, bucket: Bucket, now: float, cost: float = 1.0) -> float:
        """Take `cost` tokens: 0 if they were there (a negative cost gives tokens back, up to
        the burst; 0 only looks); else how long until they will be, and nothing is taken."""
        ...

    async def tokens(self, key: str, bucket: Bucket, now: float) -> float:
        """How many tokens the bucket holds now (a full bucket if it was never used)."""
        ...

    async def take_each(self, takes: Sequence[tuple[str, Bucket]], now: float) -> float:
        """A token from each bucket in order, stopping at the first that has none: its wait
        (0: every bucket had one). Redis: one round trip for them all."""
        ...

    async def close(self) -> None: ...


def refill(tokens: float, last: float, now: float, bucket: Bucket) -> float:
    return min(float(bucket.burst), tokens + max(0.0, now - last) * bucket.per_second)


def settle(tokens: float, cost: float, bucket: Bucket) -> tuple[float, float]:
    """(tokens left, seconds to wait) after asking for `cost` tokens."""
    if cost <= 0 or tokens >= cost:
        return min(float(bucket.burst), tokens - cost), 0.0
    return tokens, (cost - tokens) / bucket.per_second


class MemoryLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys

    async def take(self, key: str, bucket: Bucket, now: float, cost: float = 1.0) -> float:
        tokens, last = self._buckets.pop(key, (float(bucket.burst), now))
        tokens, wait = settle(refill(tokens, last, now, bucket), cost, bucket)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    async def tokens(self, key: str, bucket: Bucket, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(bucket.burst), now))
        return refill(tokens, last, now, bucket)

    async def take_each(self, takes: Sequence[tuple[str, Bucket]], now: float) -> float:
        for key, bucket in takes:
            if wait := await self.take(key, bucket, now):
                return wait
        return 0.0

    async def close(self) -> None:
        return None


_TAKE = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'ts') or ARGV[1])
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if cost <= 0 or tokens >= cost then
  tokens = math.min(burst, tokens - cost)
else
  wait = (cost - tokens) / rate
end
if cost ~= 0 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
end
return {tostring(wait), tostring(tokens)}
"""


# _TAKE for each bucket in turn (KEYS; ARGV: now, then rate and burst per key), stopping at
# the first without a token: {wait}.
_TAKE_EACH = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tokens = tonumber(redis.call('HGET', key, 't') or burst)
  local last = tonumber(redis.call('HGET', key, 'ts') or now)
  tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
  if tokens < 1 then
    return {tostring((1 - tokens) / rate)}
  end
  redis.call('HSET', key, 't', tostring(tokens - 1), 'ts', tostring(now))
  redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
end
return {'0'}
"""


class RedisLimiter:
    def __init__(self, target: RedisTarget, prefix: str = "sugang") -> None:
        self.redis = redis_client(target, timeout=0.2)
        self._take = self.redis.register_script(_TAKE)
        self._take_each = self.redis.register_script(_TAKE_EACH)
        self.prefix = prefix

    async def _run(self, key: str, bucket: Bucket, now: float, cost: float) -> tuple[float, float]:
        answer = await self._take(
            keys=[f"{self.prefix}:rl:{key}"], args=[now, bucket.per_second, bucket.burst, cost]
        )
        return float(answer[0]), float(answer[1])

    async def take(self, key: str, bucket: Bucket, now: float, cost: float = 1.0) -> float:
        try:
            return (await self._run(key, bucket, now, cost))[0]
        except (RedisError, OSError):
            return 0.0

    async def tokens(self, key: str, bucket: Bucket, now: float) -> float:
        try:
            return (await self._run(key, bucket, now, 0.0))[1]
        except (RedisError, OSError):
            return float(bucket.burst)

    async def take_each(self, takes: Sequence[tuple[str, Bucket]], now: float) -> float:
        args: list[float] = [now]
        for _, bucket in takes:
            args += [bucket.per_second, bucket.burst]
        try:
            answer = await self._take_each(
                keys=[f"{self.prefix}:rl:{key}" for key, _ in takes], args=args
            )
        except (RedisError, OSError):
            return 0.0
        return float(answer[0])

    async def close(self) -> None:
        await self.redis.aclose()
