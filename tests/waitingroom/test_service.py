"""The adaptive step across workers: whichever worker takes the period's step judges what the
whole service served. Two workers of one service (each its own Redis client and its own
counts, as two processes or two replicas) share the room in Redis."""

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sugang.catalog import store as catalog_store
from sugang.clock import FixedClock
from sugang.runtime import Services
from sugang.waitingroom.controller import AimdSettings
from sugang.waitingroom.latency import ServiceLatency
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.service import RoomChange, WaitingRoomService
from tests.support.factories import Factory

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def service_overrides(prefix: str) -> dict[str, Any]:
    return {"waiting_room": RedisWaitingRoom(REDIS_URL, random.Random(7), prefix=prefix)}


def worker_of(services: Services, room: RedisWaitingRoom) -> WaitingRoomService:
    """Another worker of the service: the same database and settings, its own room client
    and its own latency counts."""
    settings = services.settings
    latency = ServiceLatency(
        room,
        window_seconds=settings.adaptive_period_seconds,
        slice_seconds=settings.adaptive_latency_slice_seconds,
    )
    return WaitingRoomService(
        services.db, room, services.clock, random.Random(8), settings, latency
    )


@pytest.fixture
async def other(services: Services, prefix: str) -> AsyncIterator[WaitingRoomService]:
    room = RedisWaitingRoom(REDIS_URL, random.Random(8), prefix=prefix)
    yield worker_of(services, room)
    await room.close()


async def adaptive_rush(services: Services, factory: Factory) -> int:
    term = await factory.term()
    change = RoomChange(rush_mode=True, mode="adaptive", rate=100.0)
    await services.queue.change(term, change, actor_id=None)
    return term


def serve(worker: WaitingRoomService, count: int, seconds: float) -> None:
    for _ in range(count):
        worker.latency.record(seconds, error=False)


async def test_the_step_judges_the_answers_of_every_worker(
    services: Services, factory: Factory, other: WaitingRoomService
) -> None:
    await adaptive_rush(services, factory)
    serve(services.queue, 100, 0.005)  # this worker saw only fast answers
    serve(other, 100, 0.300)  # the other only slow ones
    await other.publish_latency()

    # this worker takes the step, and the service's p99 (300 ms) cuts the rate: x0.7
    assert await services.queue.adapt_rate() == pytest.approx(70.0)
    assert await other.adapt_rate() is None  # one step a period, whichever worker asks


async def test_too_few_answers_in_each_worker_are_enough_in_the_service(
    services: Services, factory: Factory, other: WaitingRoomService
) -> None:
    await adaptive_rush(services, factory)
    serve(services.queue, 12, 0.300)
    serve(other, 12, 0.300)  # 12 each, under the 20 a step needs: 24 in all
    await other.publish_latency()

    assert await services.queue.adapt_rate(AimdSettings(min_samples=20)) == pytest.approx(70.0)


async def test_too_few_answers_in_the_service_leave_the_rate_for_the_period(
    services: Services, factory: Factory, other: WaitingRoomService, clock: FixedClock
) -> None:
    term = await adaptive_rush(services, factory)
    serve(other, 5, 0.300)
    await other.publish_latency()

    assert await services.queue.adapt_rate(AimdSettings(min_samples=20)) is None

    now = clock.now.timestamp()
    assert (await services.room.status(term, now)).policy.rate == 100.0
    # The step was taken: another worker would have judged the same 5 answers.
    assert not await services.room.claim_step(term, now, services.settings.adaptive_period_seconds)


async def test_with_redis_out_of_reach_the_step_is_skipped(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    async with services.db.transaction() as conn:
        await catalog_store.set_rush_mode(conn, term, True)
    unreachable = RedisWaitingRoom("redis://127.0.0.1:1/0")
    worker = worker_of(services, unreachable)
    serve(worker, 100, 0.300)
    try:
        await worker.publish_latency()  # the counts are lost, the worker goes on
        assert await worker.adapt_rate() is None
    finally:
        await unreachable.close()
