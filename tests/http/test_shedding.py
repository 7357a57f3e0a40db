"""Past its limit of requests in flight, a worker answers new /api requests at once with the
app's own 503 + Retry-After instead of queueing them for the database; enrollments may use
twice the limit; /readyz is never shed. The requests are held in flight for real: the test
takes the pool's only connection, so they wait for it as they would in a storm."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.runtime import Services
from tests.support.databases import services_with
from tests.support.factories import Factory, login

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
async def one_connection(settings: Settings, clock: FixedClock) -> AsyncIterator[Services]:
    async with services_with(
        settings, clock, db_pool_size=1, db_max_overflow=0, max_in_flight=2
    ) as services:
        yield services


async def wait_until_in_flight(app: object, count: int) -> None:
    shedding = app.middleware_stack  # type: ignore[attr-defined]
    while shedding is not None and type(shedding).__name__ != "LoadShedding":
        shedding = getattr(shedding, "app", None)
    assert shedding is not None
    for _ in range(200):
        if shedding.in_flight >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{shedding.in_flight} in flight, not {count}")


async def test_a_worker_past_its_limit_answers_503_at_once_but_stays_ready(
    one_connection: Services, factory: Factory, backend: str
) -> None:
    app = create_app(services=one_connection)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        term = await factory.term()
        section = await factory.section(term)
        await factory.student(number="20270001")
        student = await login(c, "20270001")
        async with one_connection.db.engine.connect():  # the pool's only connection, held
            waiting = [asyncio.create_task(c.get("/api/v1/terms/current")) for _ in range(2)]
            await wait_until_in_flight(app, 2)

            shed = await c.get("/api/v1/departments", headers={"Accept-Language": "en"})
            enroll = asyncio.create_task(
                c.post("/api/v1/enrollments", json={"section_id": section}, headers=student)
            )
            await wait_until_in_flight(app, 3)  # an enrollment still gets in
            ready = await c.get("/readyz")
            metrics = await c.get("/metrics")
        answers = await asyncio.gather(*waiting, enroll)

    assert shed.status_code == 503 and shed.headers["Retry-After"] == "1"
    assert shed.json()["code"] == "SERVICE_UNAVAILABLE"
    assert shed.json()["message"] == "The service is busy; try again in a moment."
    assert ready.status_code == 200
    assert "sugang_http_requests_shed_total 1.0" in metrics.text
    assert 'sugang_http_requests_total{method="GET",route="shed",status="503"} 1.0' in metrics.text
    # those let in waited for the connection and were served
    assert [a.status_code for a in answers] == [200, 200, 201]
