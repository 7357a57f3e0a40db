"""The waiting room in Redis, shared by every API replica. Each operation is one Lua script,
so it is atomic; the lottery's shuffle is drawn in Python (by the injected RNG) and committed
by a script that refuses it if the pool changed meanwhile."""

import logging
import random
from collections.abc import Sequence
from typing import Any, cast

from redis.exceptions import RedisError

from sugang.config import RedisTarget
from sugang.db.redis import redis_client
from sugang.errors import QueueClosed, QueueUnavailable
from sugang.waitingroom.controller import LatencyHistogram
from sugang.waitingroom.room import (
    STEP_SLACK,
    Mode,
    Place,
    Policy,
    RoomStatus,
    eta,
    place_of,
)

log = logging.getLogger("sugang.waitingroom")

_COMMON = """
local cfg_key, pos_key, order_key, pool_key, sess_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local function num(v, d) if v == false or v == nil then return d end return tonumber(v) end
local function load()
  local raw = redis.call('HGETALL', cfg_key)
  local c = {}
  for i = 1, #raw, 2 do c[raw[i]] = raw[i + 1] end
  return {opens_at = num(c.opens_at, 0), mode = c.mode or 'rate', rate = num(c.rate, 50),
          max_active = num(c.max_active, 200), session = num(c.session, 600),
          paused = num(c.paused, 0), accepting = num(c.accepting, 1),
          lottery = num(c.lottery, 0), next = num(c.next, 0), wm = num(c.wm, 0),
          tick = num(c.tick, 0)}
end
local function advance(c, now)
  if c.lottery == 0 then return end
  if c.paused == 0 then
    redis.call('ZREMRANGEBYSCORE', sess_key, '-inf', now)
    local active = redis.call('ZCARD', sess_key)
    local old = math.floor(c.wm)
    local moved
    if c.mode == 'concurrency' then
      moved = old + math.max(0, c.max_active - active)
    else
      moved = c.wm + c.rate * math.max(0, now - c.tick)
    end
    local wm = math.min(c.next, math.max(c.wm, moved))
    if math.floor(wm) > old then
      local admitted = redis.call('ZRANGEBYSCORE', order_key, old, math.floor(wm) - 1)
      for _, s in ipairs(admitted) do redis.call('ZADD', sess_key, now + c.session, s) end
    end
    c.wm = wm
  end
  if now > c.tick then c.tick = now end
  redis.call('HSET', cfg_key, 'wm', tostring(c.wm), 'tick', tostring(c.tick))
end
-- The opening lottery must be drawn (by the caller) before the room can move on.
local function ready(c, now)
  if c.lottery == 0 and now >= c.opens_at then return false end
  advance(c, now)
  return true
end
-- kind, position, watermark, session expiry, then the policy: one call answers a poll.
local function place(c, student)
  local policy = {tostring(c.opens_at), c.mode, tostring(c.rate), tostring(c.max_active),
                  tostring(c.session)}
  local p = redis.call('HGET', pos_key, student)
  if not p then
    if redis.call('SISMEMBER', pool_key, student) == 1 then
      return {'pool', '', '0', '', unpack(policy)}
    end
    return {'none'}
  end
  local expiry = redis.call('ZSCORE', sess_key, student)
  return {'line', p, tostring(c.wm), expiry or '', unpack(policy)}
end
"""

_JOIN = (
    _COMMON
    + """
local now, student = tonumber(ARGV[1]), ARGV[2]
local c = load()
if not ready(c, now) then return {'lottery'} end
if redis.call('SISMEMBER', pool_key, student) == 1 then return place(c, student) end
local p = redis.call('HGET', pos_key, student)
if p then
  local expiry = redis.call('ZSCORE', sess_key, student)
  local over = tonumber(p) < math.floor(c.wm) and (not expiry or tonumber(expiry) <= now)
  if not over then return place(c, student) end
end
if c.accepting == 0 then return {'closed'} end
if c.lottery == 0 then
  redis.call('SADD', pool_key, student)
  return place(c, student)
end
redis.call('ZREM', sess_key, student)
redis.call('HSET', pos_key, student, c.next)
redis.call('ZADD', order_key, c.next, student)
redis.call('HSET', cfg_key, 'next', c.next + 1)
return place(c, student)
"""
)

_PLACE = (
    _COMMON
    + """
local now, student = tonumber(ARGV[1]), ARGV[2]
local c = load()
if not ready(c, now) then return {'lottery'} end
return place(c, student)
"""
)

_STATUS = (
    _COMMON
    + """
local now = tonumber(ARGV[1])
local c = load()
if not ready(c, now) then return {'lottery'} end
return {'status', tostring(c.next), tostring(c.wm), tostring(redis.call('SCARD', pool_key)),
        tostring(redis.call('ZCOUNT', sess_key, '(' .. now, '+inf'))}
"""
)

_LOTTERY = (
    _COMMON
    + """
local now = ARGV[1]
local c = load()
if c.lottery == 1 then return 0 end
local n = #ARGV - 1
if redis.call('SCARD', pool_key) ~= n then return -1 end
for i = 2, #ARGV do
  redis.call('HSET', pos_key, ARGV[i], i - 2)
  redis.call('ZADD', order_key, i - 2, ARGV[i])
end
redis.call('DEL', pool_key)
redis.call('HSET', cfg_key, 'lottery', 1, 'next', n, 'tick', now, 'wm', 0)
return 1
"""
)


_STEP = """
local last = tonumber(redis.call('HGET', KEYS[1], 'last_step') or '-1e18')
if tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'last_step', ARGV[1])
return 1
"""

# One worker's latency counts of a slice added to the service's: bucket, count, bucket, count,
# ..., then the key's lifetime. One command, however many buckets counted something.
_ADD_LATENCY = """
for i = 1, #ARGV - 1, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
return 1
"""


class RedisWaitingRoom:
    def __init__(
        self, target: RedisTarget, rng: random.Random | None = None, prefix: str = "sugang"
    ) -> None:
        self.redis = redis_client(target, timeout=2.0, decode_responses=True)
        self.prefix = prefix
        self._rng = rng or random.Random()
        self._join = self.redis.register_script(_JOIN)
        self._place = self.redis.register_script(_PLACE)
        self._status = self.redis.register_script(_STATUS)
        self._lottery = self.redis.register_script(_LOTTERY)
        self._step = self.redis.register_script(_STEP)
        self._add_latency = self.redis.register_script(_ADD_LATENCY)

    def _keys(self, term_id: int) -> list[str]:
        base = f"{self.prefix}:wr:{{{term_id}}}"
        return [f"{base}:cfg", f"{base}:pos", f"{base}:order", f"{base}:pool", f"{base}:sess"]

    async def configure(
        self,
        term_id: int,
        *,
        opens_at: float | None = None,
        policy: Policy | None = None,
        paused: bool | None = None,
        accepting: bool | None = None,
    ) -> None:
        fields: dict[str, str | int | float] = {}
        if opens_at is not None:
            fields["opens_at"] = opens_at
        if policy is not None:
            fields.update(
                mode=policy.mode,
                rate=policy.rate,
                max_active=policy.max_active,
                session=policy.session_seconds,
            )
        if paused is not None:
            fields["paused"] = int(paused)
        if accepting is not None:
            fields["accepting"] = int(accepting)
        if fields:
            await self._call(self.redis.hset(self._keys(term_id)[0], mapping=cast(Any, fields)))

    async def set_rate(self, term_id: int, rate: float) -> None:
        await self._call(self.redis.hset(self._keys(term_id)[0], "rate", rate))

    async def claim_step(self, term_id: int, now: float, period: float) -> bool:
        keys = self._keys(term_id)[:1]
        return bool(await self._call(self._step(keys=keys, args=[now, period * STEP_SLACK])))

    async def add_latency(self, slice_id: int, seen: LatencyHistogram, ttl_seconds: int) -> None:
        # One script call: an HINCRBY per bucket that counted something (a few dozen in
        # practice, at 8 buckets a doubling), the errors, and the key's lifetime.
        counts: list[int | str] = []
        for bucket, count in seen.buckets().items():
            counts += (bucket, count)
        if seen.errors:
            counts += ("errors", seen.errors)
        keys = [self._latency_key(slice_id)]
        await self._call(self._add_latency(keys=keys, args=[*counts, ttl_seconds]), quiet=True)

    async def latency(self, slice_ids: Sequence[int]) -> LatencyHistogram:
        async with self.redis.pipeline(transaction=False) as pipe:
            for slice_id in slice_ids:
                pipe.hgetall(self._latency_key(slice_id))
            slices: list[dict[str, str]] = await self._call(pipe.execute(), quiet=True)
        merged = LatencyHistogram()
        for counts in slices:
            for field, value in counts.items():
                if field == "errors":
                    merged.errors += int(value)
                elif field.isdigit():
                    merged.add_bucket(int(field), int(value))
        return merged

    def _latency_key(self, slice_id: int) -> str:
        # The service's latency, not a term's: the same for every term's room. "v1": the
        # bucket layout, so that a rolling update to another layout never adds up the two.
        return f"{self.prefix}:latency:v1:{slice_id}"

    async def join(self, term_id: int, student_id: int, now: float) -> Place:
        answer = await self._run(term_id, self._join, [now, student_id], now)
        if answer[0] == "closed":
            raise QueueClosed()
        return await self._as_place(term_id, answer, now)

    async def place(self, term_id: int, student_id: int, now: float) -> Place | None:
        answer = await self._run(term_id, self._place, [now, student_id], now)
        if answer[0] == "none":
            return None
        return await self._as_place(term_id, answer, now)

    async def status(self, term_id: int, now: float) -> RoomStatus:
        answer = await self._run(term_id, self._status, [now], now)
        queued, watermark, pool, active = (
            int(answer[1]),
            float(answer[2]),
            int(answer[3]),
            int(answer[4]),
        )
        config = await self._config(term_id)
        admitted = int(watermark)
        waiting = queued - admitted + pool
        return RoomStatus(
            term_id=term_id,
            accepting=config["accepting"],
            paused=config["paused"],
            opens_at=config["opens_at"],
            policy=config["policy"],
            lottery_done=config["lottery"],
            joined=queued + pool,
            admitted=admitted,
            waiting=waiting,
            active=active,
            eta_last_seconds=eta(waiting, config["policy"]),
        )

    async def reset(self, term_id: int) -> None:
        # One transaction: no poll sees the places gone while the epoch is still the old one
        # (it would put an old ticket in line again).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._epoch_key(term_id))
            pipe.delete(*self._keys(term_id))
            await self._call(pipe.execute())

    async def epoch(self, term_id: int) -> int:
        return int(await self._call(self.redis.get(self._epoch_key(term_id))) or 0)

    def _epoch_key(self, term_id: int) -> str:
        return f"{self.prefix}:wr:{{{term_id}}}:epoch"  # outlives a reset, unlike the others

    async def close(self) -> None:
        await self.redis.aclose()

    async def _run(self, term_id: int, script: Any, args: list[Any], now: float) -> list[str]:
        keys = self._keys(term_id)
        for _ in range(5):
            answer: list[str] = await self._call(script(keys=keys, args=args))
            if answer[0] != "lottery":
                return answer
            await self._draw_lottery(term_id, now)
        raise QueueUnavailable()

    async def _draw_lottery(self, term_id: int, now: float) -> None:
        keys = self._keys(term_id)
        pool = sorted(int(s) for s in await self._call(self.redis.smembers(keys[3])))
        self._rng.shuffle(pool)
        await self._call(self._lottery(keys=keys, args=[now, *pool]))

    async def _as_place(self, term_id: int, answer: list[str], now: float) -> Place:
        kind, position, watermark, expiry, opens_at, mode, rate, max_active, session = answer
        policy = Policy(
            mode=cast(Mode, mode),
            rate=float(rate),
            max_active=int(float(max_active)),
            session_seconds=int(float(session)),
        )
        return place_of(
            int(position) if kind == "line" else None,
            float(watermark),
            float(expiry) if expiry else None,
            policy,
            float(opens_at),
            now,
        )

    async def _config(self, term_id: int) -> dict[str, Any]:
        raw = await self._call(self.redis.hgetall(self._keys(term_id)[0]))
        return {
            "opens_at": float(raw.get("opens_at", 0)),
            "paused": raw.get("paused", "0") == "1",
            "accepting": raw.get("accepting", "1") == "1",
            "lottery": raw.get("lottery", "0") == "1",
            "policy": Policy(
                mode=raw.get("mode", "rate"),
                rate=float(raw.get("rate", 50)),
                max_active=int(float(raw.get("max_active", 200))),
                session_seconds=int(float(raw.get("session", 600))),
            ),
        }

    async def _call(self, awaitable: Any, *, quiet: bool = False) -> Any:
        """Redis out of reach means a clear 503, never letting anyone in unchecked. `quiet`:
        the caller logs (the latency counts, published every second, log an outage once)."""
        try:
            return await awaitable
        except (RedisError, OSError) as error:
            if not quiet:
                log.warning("waiting room unavailable: %r", error)
            raise QueueUnavailable() from error
