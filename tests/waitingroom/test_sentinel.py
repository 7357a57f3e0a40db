"""The waiting room on Redis behind Sentinel (a primary, a replica, three sentinels: real
redis-server processes), through a failover: the queue answers 503 with Retry-After while the
sentinels promote the replica, then goes on with the same tickets; a student already admitted
keeps enrolling with their pass the whole time."""

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis

from sugang.app import create_app
from sugang.bench.chaos.redis_group import RedisGroup
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.runtime import Services
from tests.support.databases import services_with
from tests.support.factories import Factory, login, student_client

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["postgresql"])]


@pytest.fixture
def group(tmp_path: Path) -> Iterator[RedisGroup]:
    started = RedisGroup(tmp_path / "redis").start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def through_sentinel(
    settings: Settings, clock: FixedClock, group: RedisGroup
) -> AsyncIterator[Services]:
    addresses = [f"{host}:{port}" for host, port in group.target.addresses]
    async with services_with(
        settings, clock, redis_sentinels=addresses, redis_master_name=group.target.master
    ) as services:
        yield services


async def test_the_queue_survives_a_redis_failover(
    through_sentinel: Services, factory: Factory, group: RedisGroup, clock: FixedClock, backend: str
) -> None:
    app = create_app(services=through_sentinel)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        term = await factory.term()
        section = await factory.section(term, capacity=50)
        admin = await login(c, await factory.staff())
        room = {"rush_mode": True, "rate": 1.0}
        await c.patch(f"/api/v1/admin/terms/{term}/waiting-room", json=room, headers=admin)
        _, admitted = await student_client(c, factory)
        _, waiting = await student_client(c, factory)
        first = (await c.post("/api/v1/queue/tickets", headers=admitted)).json()
        ticket = (await c.post("/api/v1/queue/tickets", headers=waiting)).json()
        clock.now += timedelta(seconds=1)
        admission = await c.get(f"/api/v1/queue/tickets/{first['ticket']}", headers=admitted)
        with_pass = {**admitted, "X-Admission-Token": admission.json()["access_token"]}
        master = group.master_port()
        assert master is not None
        with redis.Redis(group.host, master) as primary:
            assert primary.wait(1, 2000) == 1  # the tickets are on the replica too

        group.kill_master()
        killed_at = time.monotonic()
        polls: list[int] = []
        enrolls: list[int] = []
        back_after = None
        while time.monotonic() - killed_at < 30:
            poll = await c.get(f"/api/v1/queue/tickets/{ticket['ticket']}", headers=waiting)
            polls.append(poll.status_code)
            enroll = await c.post(
                "/api/v1/enrollments", json={"section_id": section}, headers=with_pass
            )
            enrolls.append(enroll.status_code)
            if poll.status_code == 503:
                assert poll.headers["Retry-After"] and poll.json()["code"] == "QUEUE_UNAVAILABLE"
            elif poll.status_code == 200:
                back_after = time.monotonic() - killed_at
                break
            time.sleep(0.2)

    assert back_after is not None and back_after <= 10, polls
    assert set(polls) <= {200, 503}
    assert poll.json()["ticket"] == ticket["ticket"] and poll.json()["position"] == 2
    assert set(enrolls) <= {201, 409} and 201 in enrolls  # the pass needs no Redis
