"""Readiness that does not flap: one failed database check is not enough to leave the load
balancer, several in a row are; shutting down is not ready."""

import pytest

from sugang.system.readiness import Readiness


class Probe:
    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("the database is away")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_ready_while_the_database_answers(probe: Probe, clock: Clock) -> None:
    readiness = Readiness(probe, 3, clock=clock)
    verdict = await readiness.verdict()
    assert verdict.ready and verdict.database == "ok"


async def test_unready_only_after_failures_in_a_row(probe: Probe, clock: Clock) -> None:
    readiness = Readiness(probe, 3, clock=clock)
    probe.down = True
    verdicts = []
    for _ in range(3):
        verdicts.append(await readiness.verdict())
        clock.now += 1.0
    assert [v.ready for v in verdicts] == [True, True, False]
    assert verdicts[-1].database == "ConnectionRefusedError (3 in a row)"
    probe.down = False
    assert (await readiness.verdict()).ready  # one answer and it is back


async def test_the_database_is_checked_at_most_once_a_second(probe: Probe, clock: Clock) -> None:
    readiness = Readiness(probe, 3, clock=clock)
    for _ in range(10):
        await readiness.verdict()
    clock.now += 0.5
    await readiness.verdict()
    assert probe.calls == 1


async def test_draining_is_not_ready(probe: Probe, clock: Clock) -> None:
    readiness = Readiness(probe, 3, clock=clock)
    readiness.draining = True
    verdict = await readiness.verdict()
    assert not verdict.ready and verdict.database == "draining"
