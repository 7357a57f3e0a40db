"""The in-process waiting room, for the embedded single-process server and tests."""

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sugang.errors import QueueClosed
from sugang.waitingroom.controller import LatencyHistogram
from sugang.waitingroom.room import (
    STEP_SLACK,
    Place,
    Policy,
    RoomStatus,
    advanced_watermark,
    eta,
    place_of,
)


@dataclass
class _Room:
    opens_at: float = 0.0
    policy: Policy = field(default_factory=Policy)
    paused: bool = False
    accepting: bool = True
    lottery_done: bool = False
    pool: set[int] = field(default_factory=set)
    positions: dict[int, int] = field(default_factory=dict)  # student -> 0-based position
    order: list[int] = field(default_factory=list)  # position -> student
    sessions: dict[int, float] = field(default_factory=dict)  # student -> session expiry
    watermark: float = 0.0
    tick: float = 0.0
    last_step: float = float("-inf")


class MemoryWaitingRoom:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rooms: dict[int, _Room] = {}
        self._epochs: dict[int, int] = {}
        # slice -> (when it expires, on the monotonic clock as Redis's TTL; the counts)
        self._latency: dict[int, tuple[float, LatencyHistogram]] = {}
        self._lock = asyncio.Lock()
        self._rng = rng or random.Random()

    def _room(self, term_id: int) -> _Room:
        return self._rooms.setdefault(term_id, _Room())

    async def configure(
        self,
        term_id: int,
        *,
        opens_at: float | None = None,
        policy: Policy | None = None,
        paused: bool | None = None,
        accepting: bool | None = None,
    ) -> None:
        async with self._lock:
            room = self._room(term_id)
            if opens_at is not None and not room.lottery_done:
                room.opens_at = opens_at
            if policy is not None:
                room.policy = policy
            if paused is not None:
                room.paused = paused
            if accepting is not None:
                room.accepting = accepting

    async def set_rate(self, term_id: int, rate: float) -> None:
        async with self._lock:
            room = self._room(term_id)
            room.policy = replace(room.policy, rate=rate)

    async def claim_step(self, term_id: int, now: float, period: float) -> bool:
        async with self._lock:
            room = self._room(term_id)
            if now - room.last_step < period * STEP_SLACK:
                return False
            room.last_step = now
            return True

    async def add_latency(self, slice_id: int, seen: LatencyHistogram, ttl_seconds: int) -> None:
        now = time.monotonic()
        for old in [s for s, (expires, _) in self._latency.items() if expires <= now]:
            del self._latency[old]
        _, counts = self._latency.get(slice_id, (now, LatencyHistogram()))
        counts.add(seen)
        self._latency[slice_id] = (now + ttl_seconds, counts)

    async def latency(self, slice_ids: Sequence[int]) -> LatencyHistogram:
        now, merged = time.monotonic(), LatencyHistogram()
        for slice_id in slice_ids:
            kept = self._latency.get(slice_id)
            if kept is not None and kept[0] > now:
                merged.add(kept[1])
        return merged

    async def join(self, term_id: int, student_id: int, now: float) -> Place:
        async with self._lock:
            room = self._room(term_id)
            self._advance(room, now)
            position = room.positions.get(student_id)
            if student_id in room.pool or (
                position is not None and not self._session_over(room, student_id, position, now)
            ):
                return self._place(room, student_id, now)
            if not room.accepting:
                raise QueueClosed()
            if not room.lottery_done:
                room.pool.add(student_id)
            else:
                if position is not None:  # admitted before, session over: back of the line
                    room.sessions.pop(student_id, None)
                    room.order[position] = -1
                room.positions[student_id] = len(room.order)
                room.order.append(student_id)
            return self._place(room, student_id, now)

    async def place(self, term_id: int, student_id: int, now: float) -> Place | None:
        async with self._lock:
            room = self._room(term_id)
            self._advance(room, now)
            if student_id not in room.positions and student_id not in room.pool:
                return None
            return self._place(room, student_id, now)

    async def status(self, term_id: int, now: float) -> RoomStatus:
        async with self._lock:
            room = self._room(term_id)
            self._advance(room, now)
            admitted = int(room.watermark)
            waiting = len(room.order) - admitted + len(room.pool)
            return RoomStatus(
                term_id=term_id,
                accepting=room.accepting,
                paused=room.paused,
                opens_at=room.opens_at,
                policy=room.policy,
                lottery_done=room.lottery_done,
                joined=len(room.order) + len(room.pool),
                admitted=admitted,
                waiting=waiting,
                active=sum(1 for expiry in room.sessions.values() if expiry > now),
                eta_last_seconds=eta(waiting, room.policy),
            )

    async def reset(self, term_id: int) -> None:
        async with self._lock:
            self._rooms.pop(term_id, None)
            self._epochs[term_id] = self._epochs.get(term_id, 0) + 1

    async def epoch(self, term_id: int) -> int:
        return self._epochs.get(term_id, 0)

    async def close(self) -> None:
        return None

    def _advance(self, room: _Room, now: float) -> None:
        if not room.lottery_done and now >= room.opens_at:
            drawn = sorted(room.pool)
            self._rng.shuffle(drawn)
            room.order.extend(drawn)
            room.positions.update({s: i for i, s in enumerate(room.order)})
            room.pool.clear()
            room.lottery_done, room.tick = True, now
        if not room.lottery_done:
            return
        if not room.paused:
            active = sum(1 for expiry in room.sessions.values() if expiry > now)
            old = int(room.watermark)
            room.watermark = advanced_watermark(
                room.policy, room.watermark, room.tick, now, len(room.order), active
            )
            for position in range(old, int(room.watermark)):
                student = room.order[position]
                if student >= 0:
                    room.sessions[student] = now + room.policy.session_seconds
        room.tick = max(room.tick, now)

    def _session_over(self, room: _Room, student_id: int, position: int, now: float) -> bool:
        return position < int(room.watermark) and room.sessions.get(student_id, 0.0) <= now

    def _place(self, room: _Room, student_id: int, now: float) -> Place:
        return place_of(
            room.positions.get(student_id),
            room.watermark,
            room.sessions.get(student_id),
            room.policy,
            room.opens_at,
            now,
        )
