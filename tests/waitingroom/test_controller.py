"""The adaptive controller's step, as a pure function, and the latency window it reads."""

import pytest

from sugang.waitingroom.controller import AimdSettings, LatencyWindow, Observation, next_rate

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


def test_the_window_forgets_what_is_older_than_its_span() -> None:
    now = [0.0]
    window = LatencyWindow(seconds=2.0, clock=lambda: now[0])
    for _ in range(98):
        window.record(0.010, error=False)
    for _ in range(2):
        window.record(0.900, error=True)
    assert window.observe() == Observation(0.900, 0.02, 100)  # the slowest 1% is past p99
    now[0] = 2.5
    window.record(0.020, error=False)
    assert window.observe() == Observation(0.020, 0.0, 1)
