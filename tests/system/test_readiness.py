"""Readiness that does not flap: one failed database check is not enough to leave the load
balancer, several in a row are; shutting down is not ready."""

import asyncio
import signal

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


async def test_one_check_at_a_time_however_many_ask(clock: Clock) -> None:
    """A slow database is one failure, not one per asker (the watcher and a probe at once)."""
    release = asyncio.Event()
    calls = 0

    async def slow_probe() -> None:
        nonlocal calls
        calls += 1
        await release.wait()
        raise TimeoutError

    readiness = Readiness(slow_probe, 2, every_seconds=0, clock=clock)
    first = asyncio.create_task(readiness.verdict())
    await asyncio.sleep(0)
    second = await readiness.verdict()  # answers from what is known, without a second check
    release.set()
    await first
    assert calls == 1 and second.ready
    assert readiness.failures == 1 and readiness.snapshot().ready


def test_sigterm_makes_the_worker_unready_at_once_and_still_reaches_the_server() -> None:
    readiness = Readiness(Probe(), 3)
    heard: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda signum, _: heard.append(signum))
    try:
        readiness.drain_on_sigterm()
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert readiness.snapshot().database == "draining"
    assert heard == [signal.SIGTERM]  # uvicorn's own handler still runs
