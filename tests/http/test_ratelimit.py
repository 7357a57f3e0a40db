"""Token buckets per student and per address, on both backends; off unless enabled."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from sugang.app import create_app
from sugang.buckets import Bucket, MemoryLimiter, RedisLimiter
from sugang.clock import FixedClock
from sugang.runtime import Services
from tests.support.factories import Factory, login

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory", "redis"])
async def limited(request: pytest.FixtureRequest, services: Services) -> AsyncIterator[Services]:
    services.settings.rate_limit_enabled = True
    services.settings.rate_limit_student_per_second = 1.0
    services.settings.rate_limit_student_burst = 3
    services.settings.rate_limit_ip_per_second = 1000.0
    services.settings.rate_limit_ip_burst = 1000
    if request.param == "redis":
        services.limiter = RedisLimiter(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}")
    yield services


async def test_a_student_over_the_bucket_gets_429_with_retry_after(
    limited: Services, factory: Factory, clock: FixedClock
) -> None:
    term = await factory.term()
    await factory.section(term)
    await factory.student(number="20275555")
    app = create_app(services=limited)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        headers = await login(c, "20275555")
        statuses = [
            (await c.get("/api/v1/sections", headers=headers)).status_code for _ in range(4)
        ]
        refused = await c.get("/api/v1/sections", headers=headers)
        clock.now += timedelta(seconds=2)
        refilled = await c.get("/api/v1/sections", headers=headers)
        health = await c.get("/healthz")
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
    assert refused.headers["Retry-After"] == "1"
    assert refilled.status_code == 200
    assert health.status_code == 200  # probes are never limited


async def test_an_address_has_its_own_bucket(limited: Services) -> None:
    limited.settings.rate_limit_ip_burst = 2
    app = create_app(services=limited)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        statuses = [(await c.get("/api/v1/time")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_off_by_default(services: Services) -> None:
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        statuses = {(await c.get("/api/v1/time")).status_code for _ in range(50)}
    assert statuses == {200}


async def test_the_bucket_refills_at_its_rate() -> None:
    limiter, bucket = MemoryLimiter(), Bucket(per_second=2.0, burst=2)
    assert [await limiter.take("k", bucket, 0.0) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert await limiter.take("k", bucket, 0.5) == 0.0


async def test_without_redis_requests_pass() -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0")
    assert await limiter.take("k", Bucket(1.0, 1), 0.0) == 0.0
    await limiter.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_take_each_stops_at_the_first_empty_bucket_and_charges_none_after_it(
    kind: str,
) -> None:
    limiter = (
        MemoryLimiter()
        if kind == "memory"
        else RedisLimiter(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}")
    )
    one, two = Bucket(per_second=1.0, burst=1), Bucket(per_second=1.0, burst=3)
    try:
        assert await limiter.take_each([("a", one), ("b", two)], 100.0) == 0
        wait = await limiter.take_each([("a", one), ("b", two)], 100.0)
        assert wait == pytest.approx(1.0)  # "a" is empty, so "b" was not charged:
        assert await limiter.tokens("b", two, 100.0) == pytest.approx(2.0)
        assert await limiter.take_each([("a", one), ("b", two)], 101.0) == 0  # refilled
        assert await limiter.tokens("b", two, 101.0) == pytest.approx(2.0)  # 2 + 1 - 1
    finally:
        await limiter.close()
