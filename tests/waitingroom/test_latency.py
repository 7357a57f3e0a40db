"""The service's latency: each worker's counts published, read back added up over the window;
the same tests on both stores (the in-process room, Redis)."""

import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from sugang.waitingroom.latency import ServiceLatency
from sugang.waitingroom.memory import MemoryWaitingRoom
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.room import WaitingRoom

REDIS_URL = "redis://127.0.0.1:6379/15"
NOW = 1_800_000_000.25  # epoch seconds
WINDOW = 2.0

Worker = Callable[[], ServiceLatency]


@pytest.fixture(params=["memory", "redis"])
async def worker(request: pytest.FixtureRequest) -> AsyncIterator[Worker]:
    """Makes workers of one service: with Redis each its own client, as in another process."""
    prefix = f"test-{uuid.uuid4().hex}"
    memory = MemoryWaitingRoom(random.Random(7))
    rooms: list[WaitingRoom] = []

    def make() -> ServiceLatency:
        room: WaitingRoom = memory
        if request.param == "redis":
            room = RedisWaitingRoom(REDIS_URL, random.Random(7), prefix=prefix)
            rooms.append(room)
        return ServiceLatency(room, window_seconds=WINDOW, slice_seconds=1.0)

    yield make
    for room in rooms:
        await room.close()


def serve(worker: ServiceLatency, count: int, seconds: float, errors: int = 0) -> None:
    for i in range(count):
        worker.record(seconds, error=i < errors)


async def test_what_every_worker_saw_is_added_up(worker: Worker) -> None:
    fast, slow = worker(), worker()
    serve(fast, 990, 0.005)
    serve(slow, 10, 0.800, errors=10)

    await slow.publish(NOW)
    seen = await fast.observe(NOW + 0.5)  # publishes its own first

    assert seen is not None and seen.samples == 1000
    assert seen.error_rate == pytest.approx(0.01)
    assert 0.005 < seen.p99_seconds < 0.006  # 990 fast: the 1% slowest is past the p99
    assert await slow.observe(NOW + 0.5) == seen  # the same service, whoever asks


async def test_the_window_forgets_what_is_older(worker: Worker) -> None:
    one = worker()
    serve(one, 50, 0.500)
    await one.publish(NOW)  # slice NOW: read until the window has passed it
    serve(one, 30, 0.010)

    within = await one.observe(NOW + WINDOW - 0.5)
    past = await one.observe(NOW + WINDOW)

    assert within is not None and within.samples == 80
    assert past is not None and past.samples == 30 and past.p99_seconds < 0.011


async def test_nothing_served_publishes_nothing(worker: Worker) -> None:
    one = worker()
    await one.publish(NOW)
    seen = await one.observe(NOW)
    assert seen is not None and seen.samples == 0


async def test_redis_out_of_reach_skips_the_judging_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = RedisWaitingRoom("redis://127.0.0.1:1/0")
    latency = ServiceLatency(unreachable, window_seconds=WINDOW)
    caplog.set_level(logging.INFO, logger="sugang.waitingroom")
    try:
        for second in range(3):
            serve(latency, 10, 0.010)
            await latency.publish(NOW + second)  # never raises: the worker goes on serving
            assert await latency.observe(NOW + second) is None
    finally:
        await unreachable.close()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot be shared" in warnings[0].getMessage()
