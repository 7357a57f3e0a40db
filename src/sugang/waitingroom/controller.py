"""Adaptive admission: additive increase, multiplicative decrease (AIMD) of the rate, from the
enrollment endpoint's observed p99 latency and error rate, so the queue feeds the service as
fast as it (and the autoscaler adding replicas) can serve, and no faster.

Two refinements of plain AIMD: far below the latency target the rate grows geometrically
(the opening minute is too short to climb 10/s at a time), and it grows only while the line
holds more than two seconds of admissions (a rate nobody needs is no evidence the service
could take it).
"""

import math
import time
from collections import deque
from collections.abc import Callable
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


class LatencyWindow:
    """The last `seconds` of enrollment-endpoint outcomes in this process."""

    def __init__(self, seconds: float = 5.0, clock: Callable[[], float] | None = None) -> None:
        self.seconds = seconds
        self._clock = clock or time.monotonic
        self._samples: deque[tuple[float, float, bool]] = deque(maxlen=50_000)

    def record(self, seconds: float, error: bool) -> None:
        self._samples.append((self._clock(), seconds, error))

    def observe(self) -> Observation:
        horizon = self._clock() - self.seconds
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        if not self._samples:
            return Observation(0.0, 0.0, 0)
        latencies = sorted(s[1] for s in self._samples)
        p99 = latencies[max(0, math.ceil(0.99 * len(latencies)) - 1)]
        errors = sum(1 for s in self._samples if s[2])
        return Observation(p99, errors / len(self._samples), len(self._samples))
