"""The adaptive controller's step, as a pure function, and the latency histogram it reads."""

import math
import random

import pytest

from sugang.waitingroom.controller import (
    BUCKETS,
    UPPER_BOUNDS,
    AimdSettings,
    LatencyHistogram,
    Observation,
    next_rate,
)

AIMD = AimdSettings(target_p99_seconds=0.1, increase_per_step=10.0, min_samples=20)


def seen(p99_ms: float, errors: float = 0.0, samples: int = 100) -> Observation:
    return Observation(p99_ms / 1000, errors, samples)


def test_slow_answers_cut_the_rate() -> None:
    assert next_rate(100.0, seen(180), waiting=500, settings=AIMD) == pytest.approx(70.0)


def test_errors_cut_the_rate_even_when_fast() -> None:
    assert next_rate(100.0, seen(10, errors=0.05), waiting=500, settings=AIMD) == pytest.approx(70)


def test_near_the_target_the_rate_grows_by_a_step() -> None:
    assert next_rate(100.0, seen(80), waiting=500, settings=AIMD) == pytest.approx(110.0)


def test_far_below_the_target_the_rate_grows_geometrically() -> None:
    assert next_rate(100.0, seen(20), waiting=500, settings=AIMD) == pytest.approx(125.0)


def test_no_growth_unless_the_rate_is_what_holds_the_line_back() -> None:
    assert next_rate(100.0, seen(20), waiting=0, settings=AIMD) == 100.0
    # 190 waiting are admitted within two seconds at 100/s: the rate is not the bottleneck
    assert next_rate(100.0, seen(20), waiting=190, settings=AIMD) == 100.0
    assert next_rate(100.0, seen(20), waiting=210, settings=AIMD) == 125.0


def test_too_few_samples_change_nothing() -> None:
    assert next_rate(100.0, seen(500, samples=5), waiting=500, settings=AIMD) == 100.0


def test_the_rate_stays_within_its_bounds() -> None:
    bounded = AimdSettings(min_rate=5.0, max_rate=120.0)
    assert next_rate(6.0, seen(500), waiting=500, settings=bounded) == 5.0
    assert next_rate(100.0, seen(1), waiting=500, settings=bounded) == 120.0


def bucket_width(seconds: float) -> float:
    """The width of the histogram bucket `seconds` falls in."""
    upper = next(i for i, bound in enumerate(UPPER_BOUNDS) if seconds <= bound)
    return UPPER_BOUNDS[upper] - (UPPER_BOUNDS[upper - 1] if upper else 0.0)


def exact_quantile(latencies: list[float], q: float) -> float:
    """Nearest rank, as the histogram counts it."""
    return sorted(latencies)[math.ceil(q * len(latencies)) - 1]


@pytest.mark.parametrize("seed", range(20))
def test_the_p99_is_within_one_bucket_of_the_exact_one(seed: int) -> None:
    rng = random.Random(seed)
    # a fast mode and a slow tail, as at the rush: median 10-40 ms, some seconds long
    median = rng.uniform(0.010, 0.040)
    latencies = [
        rng.lognormvariate(math.log(median), 0.6) * (rng.choice([1, 1, 1, 30]))
        for _ in range(rng.randint(50, 5_000))
    ]
    histogram = LatencyHistogram()
    for seconds in latencies:
        histogram.record(seconds, error=False)

    exact = exact_quantile(latencies, 0.99)
    assert abs(histogram.quantile(0.99) - exact) <= bucket_width(exact)
    assert histogram.observe().p99_seconds == histogram.quantile(0.99)


def test_a_bucket_is_under_a_tenth_wider_than_the_one_below() -> None:
    ratios = [b / a for a, b in zip(UPPER_BOUNDS, UPPER_BOUNDS[1:], strict=False)]
    assert max(ratios) < 1.1
    assert UPPER_BOUNDS[0] <= 0.0001 and UPPER_BOUNDS[-1] >= 100


def test_the_histogram_counts_answers_and_errors() -> None:
    histogram = LatencyHistogram()
    for _ in range(98):
        histogram.record(0.010, error=False)
    for _ in range(2):
        histogram.record(0.900, error=True)

    seen = histogram.observe()

    assert seen.samples == 100 and seen.error_rate == 0.02
    assert seen.p99_seconds == pytest.approx(0.900, abs=bucket_width(0.900))  # the slowest 1%


def test_histograms_add_up_to_one_of_everything() -> None:
    rng = random.Random(1)
    first, second, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for _ in range(1000):
        seconds, error = rng.expovariate(20), rng.random() < 0.1
        (first if rng.random() < 0.5 else second).record(seconds, error)
        both.record(seconds, error)

    first.add(second)

    assert first.counts == both.counts and first.errors == both.errors
    assert first.observe() == both.observe()


def test_the_buckets_hold_what_they_said_and_past_the_ends() -> None:
    histogram = LatencyHistogram()
    histogram.record(0.0, error=False)
    histogram.record(1e6, error=False)
    assert histogram.buckets() == {0: 1, BUCKETS - 1: 1}
    assert histogram.quantile(1.0) == UPPER_BOUNDS[-1]  # the last bound, not infinity

    copied = LatencyHistogram()
    for index, count in histogram.buckets().items():
        copied.add_bucket(index, count)
    assert copied.counts == histogram.counts


def test_nothing_counted_is_no_evidence() -> None:
    assert LatencyHistogram().observe() == Observation(0.0, 0.0, 0)
