"""What a waiting room is, whichever backend keeps it.

A room belongs to a term. Students who join before `opens_at` wait in a pool that is shuffled
once at opening (a lottery: arriving at 09:59:59.999 gains nothing over 09:59:00); those who
join after opening are appended in arrival order. Positions are admitted by a watermark that
moves as time passes: `rate` positions per second (modes "rate" and "adaptive", where the
controller moves the rate), or as many as keep `max_active` sessions live ("concurrency").
Admission lasts `session_seconds`; a student whose session ran out may join again at the back.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sugang.waitingroom.controller import LatencyHistogram

Mode = Literal["rate", "concurrency", "adaptive"]

# A controller step is due after 90% of its period, so workers' timers drifting by a few
# milliseconds do not skip a step.
STEP_SLACK = 0.9


@dataclass(frozen=True)
class Policy:
    mode: Mode = "rate"
    rate: float = 50.0  # admissions per second ("rate"; where "adaptive" starts)
    max_active: int = 200  # live admitted sessions at most ("concurrency")
    session_seconds: int = 600  # how long an admission lasts


@dataclass(frozen=True)
class Admission:
    """What a verified admission pass says: this student may act in this term until then."""

    student_id: int
    term_id: int
    expires_at: datetime
    generation: int = 0  # of the term's room when admitted (Term.room_generation)


@dataclass(frozen=True)
class Place:
    position: int | None  # 1 = next in line; None while waiting for the opening lottery
    ahead: int | None
    admitted: bool
    eta_seconds: float | None
    session_expires_at: float | None = None  # epoch seconds, when admitted
    opens_at: float = 0.0  # the room's opening instant (epoch seconds)


@dataclass(frozen=True)
class RoomStatus:
    term_id: int
    accepting: bool
    paused: bool
    opens_at: float
    policy: Policy
    lottery_done: bool
    joined: int  # everyone with a ticket, in the pool or in line
    admitted: int  # positions admitted so far
    waiting: int  # not admitted yet
    active: int  # admitted sessions still live
    eta_last_seconds: float | None = None


def eta(ahead: int, policy: Policy) -> float | None:
    """Seconds until `ahead` more positions are admitted, at the policy's pace."""
    if ahead <= 0:
        return 0.0
    if policy.mode == "concurrency":
        per_second = policy.max_active / max(policy.session_seconds, 1)
    else:
        per_second = policy.rate
    return round(ahead / per_second, 1) if per_second > 0 else None


# How often a waiting client should ask again: when its admission is due if that is within
# a second, else half its ETA, at most every MAX_POLL_SECONDS; so polling costs the service
# about one request per waiting student per second (SSE: the same).
MIN_POLL_SECONDS, MAX_POLL_SECONDS = 0.2, 10.0


def poll_after(place: "Place", jitter: float = 1.0) -> float | None:
    """Seconds until the client should ask again; None once admitted. `jitter` (around 1)
    spreads clients who were told the same thing, so they do not all come back at once."""
    if place.admitted:
        return None
    eta = place.eta_seconds
    if eta is None:  # the rate is zero: nothing to time
        return MAX_POLL_SECONDS
    wait = eta if eta <= 1.0 else max(1.0, eta / 2)
    return round(min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, wait * jitter)), 2)


def advanced_watermark(
    policy: Policy, watermark: float, last_tick: float, now: float, queued: int, active: int
) -> float:
    """Where the admission watermark stands at `now` (never past the end of the line)."""
    if policy.mode == "concurrency":
        moved = float(int(watermark) + max(0, policy.max_active - active))
    else:
        moved = watermark + policy.rate * max(0.0, now - last_tick)
    return min(float(queued), max(watermark, moved))


def place_of(
    position: int | None,
    watermark: float,
    session_expires_at: float | None,
    policy: Policy,
    opens_at: float,
    now: float,
) -> Place:
    """A student's place, from their 0-based position (None: in the pre-opening pool)."""
    if position is None:
        return Place(None, None, False, max(0.0, opens_at - now), opens_at=opens_at)
    admitted = position < int(watermark)
    ahead = max(0, position - int(watermark))
    return Place(
        position=position + 1,
        ahead=ahead,
        admitted=admitted,
        eta_seconds=0.0 if admitted else eta(ahead + 1, policy),
        session_expires_at=session_expires_at if admitted else None,
        opens_at=opens_at,
    )


class WaitingRoom(Protocol):
    async def configure(
        self,
        term_id: int,
        *,
        opens_at: float | None = None,
        policy: Policy | None = None,
        paused: bool | None = None,
        accepting: bool | None = None,
    ) -> None: ...

    async def join(self, term_id: int, student_id: int, now: float) -> Place: ...

    async def place(self, term_id: int, student_id: int, now: float) -> Place | None: ...

    async def status(self, term_id: int, now: float) -> RoomStatus: ...

    async def set_rate(self, term_id: int, rate: float) -> None: ...

    async def claim_step(self, term_id: int, now: float, period: float) -> bool:
        """True for the first caller in each `period`: the adaptive controller steps once per
        period whatever the number of replicas (each stepping would multiply the cuts)."""
        ...

    async def add_latency(self, slice_id: int, seen: LatencyHistogram, ttl_seconds: int) -> None:
        """Add what one worker saw of the enroll endpoint to the service's counts of slice
        `slice_id`, kept `ttl_seconds` past the last addition (sugang.waitingroom.latency).
        Raises QueueUnavailable, without logging, if the store is out of reach."""
        ...

    async def latency(self, slice_ids: Sequence[int]) -> LatencyHistogram:
        """What the service saw in these slices, every worker's counts added up (one round
        trip). Raises QueueUnavailable, without logging, if the store is out of reach."""
        ...

    async def reset(self, term_id: int) -> None:
        """Forget every ticket, and move the room's epoch on."""
        ...

    async def epoch(self, term_id: int) -> int:
        """How many times the room was reset: a ticket carries the epoch it was taken in, so
        that one the room no longer knows can be told apart: from before a reset (void), or
        lost by the room in the same epoch (a Redis failover; the student is let in line
        again)."""
        ...

    async def close(self) -> None: ...
