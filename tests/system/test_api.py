"""/readyz and /metrics answer while every pooled connection is busy (the rush), because they
read the database on a connection of their own; /healthz never asks the database."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

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
async def small_pool(settings: Settings, clock: FixedClock) -> AsyncIterator[Services]:
    async with services_with(
        settings, clock, db_pool_size=2, db_max_overflow=0, db_pool_timeout_seconds=30.0
    ) as services:
        yield services


async def test_readiness_and_metrics_answer_while_the_pool_is_exhausted(
    small_pool: Services, factory: Factory, backend: str
) -> None:
    app = create_app(services=small_pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        term = await factory.term()
        await factory.section(term)
        admin = await login(c, await factory.staff())
        on = {"rush_mode": True}
        await c.patch(f"/api/v1/admin/terms/{term}/waiting-room", json=on, headers=admin)
        async with AsyncExitStack() as held:  # every pooled connection taken, and kept
            for _ in range(2):
                await held.enter_async_context(small_pool.db.engine.connect())
            started = time.monotonic()
            ready, metrics, alive = await asyncio.wait_for(
                asyncio.gather(c.get("/readyz"), c.get("/metrics"), c.get("/healthz")), 5
            )
            took = time.monotonic() - started
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})
    assert f'sugang_waiting_room_depth{{term_id="{term}"}} 0.0' in metrics.text
    assert "sugang_section_seats_left" in metrics.text
    assert alive.status_code == 200
    assert took < 3  # not the pool's 30 s wait
