"""Adaptive admission: additive increase, multiplicative decrease (AIMD) of the rate, from the
enrollment endpoint's observed p99 latency and error rate, so the queue feeds the service as
fast as it (and the autoscaler adding replicas) can serve, and no faster.

Two refinements of plain AIMD: far below the latency target the rate grows geometrically
(the opening minute is too short to climb 10/s at a time), and it grows only while the line
holds more than two seconds of admissions (a rate nobody needs is no evidence the service
could take it).

The step judges what the whole service served (every worker of every replica), counted in
fixed log-scale histograms that add up across workers (sugang.waitingroom.latency shares them).
"""

import math
from bisect import bisect_left
from dataclasses import dataclass


@dataclass(frozen=True)
class AimdSettings:
    # The service's own latency, kept under the 150 ms that students should see at most
    # (the network and the proxy add theirs).
    target_p99_seconds: float = 0.10
    max_error_rate: float = 0.01
    increase_per_step: float = 10.0  # admissions/second added while healthy
    fast_below_share: float = 0.3  # p99 under this share of the target: grow geometrically
    fast_increase_factor: float = 1.25
    decrease_factor: float = 0.7  # rate multiplied by this when not healthy
    min_rate: float = 1.0
    max_rate: float = 5_000.0
    min_samples: int = 20
    # The rate grows only while the line holds more than this many seconds of admissions
    # (1 s let the rate outrun a short line at the bench: p99 239 ms against 71 ms with 2 s).
    line_seconds_to_grow: float = 2.0


@dataclass(frozen=True)
class Observation:
    p99_seconds: float
    error_rate: float
    samples: int


def next_rate(rate: float, seen: Observation, waiting: int, settings: AimdSettings) -> float:
    """The rate for the next step: unchanged without enough samples, and not raised unless
    the line holds more than `line_seconds_to_grow` of admissions at the current rate (else
    the rate is not what holds anyone back, and raising it would only store up a burst)."""
    if seen.samples < settings.min_samples:
        return rate
    if seen.p99_seconds > settings.target_p99_seconds or seen.error_rate > settings.max_error_rate:
        return max(settings.min_rate, rate * settings.decrease_factor)
    if waiting <= rate * settings.line_seconds_to_grow:
        return rate
    if seen.p99_seconds < settings.target_p99_seconds * settings.fast_below_share:
        return min(settings.max_rate, rate * settings.fast_increase_factor)
    return min(settings.max_rate, rate + settings.increase_per_step)


# The histogram's buckets: 8 a doubling (each 9% wider than the last) from 0.1 ms to 105 s,
# one for everything at or under 0.1 ms and one for everything over 105 s. Fixed, so that
# every worker's counts add up bucket by bucket (in Redis, with HINCRBY).
SMALLEST_SECONDS = 1e-4
BUCKETS_PER_DOUBLING = 8
UPPER_BOUNDS: tuple[float, ...] = tuple(
    SMALLEST_SECONDS * 2 ** (i / BUCKETS_PER_DOUBLING) for i in range(20 * BUCKETS_PER_DOUBLING + 1)
)
BUCKETS = len(UPPER_BOUNDS) + 1  # the last: over UPPER_BOUNDS[-1]


class LatencyHistogram:
    """Answers counted by latency in fixed log-scale buckets, and how many were errors: what
    one worker saw in a slice of time, or (added up) what the whole service saw in a window.
    A quantile read from it is off by less than the width of its bucket (9%)."""

    __slots__ = ("counts", "errors")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.errors = 0

    def record(self, seconds: float, error: bool) -> None:
        # On the request path: a bisect over 161 floats (in C) and an increment, no allocation.
        self.counts[bisect_left(UPPER_BOUNDS, seconds)] += 1
        if error:
            self.errors += 1

    @property
    def total(self) -> int:
        return sum(self.counts)

    def buckets(self) -> dict[int, int]:
        """The buckets that counted something: bucket index -> count."""
        return {i: n for i, n in enumerate(self.counts) if n}

    def add_bucket(self, index: int, count: int) -> None:
        self.counts[min(max(index, 0), BUCKETS - 1)] += count

    def add(self, other: "LatencyHistogram") -> None:
        for i, n in enumerate(other.counts):
            if n:
                self.counts[i] += n
        self.errors += other.errors

    def quantile(self, q: float) -> float:
        """The nearest-rank `q` quantile, interpolated inside its bucket (as Prometheus's
        histogram_quantile does); 0 when nothing was counted."""
        total = self.total
        if total == 0:
            return 0.0
        rank = max(1, math.ceil(q * total))
        below = 0
        for i, n in enumerate(self.counts):
            if below + n >= rank:
                lower = UPPER_BOUNDS[i - 1] if i > 0 else 0.0
                if i == len(UPPER_BOUNDS):  # over the last bound: say the bound
                    return lower
                return lower + (UPPER_BOUNDS[i] - lower) * (rank - below) / n
            below += n
        raise AssertionError("unreachable: the ranks add up to the total")

    def observe(self) -> Observation:
        total = self.total
        if total == 0:
            return Observation(0.0, 0.0, 0)
        return Observation(self.quantile(0.99), self.errors / total, total)
