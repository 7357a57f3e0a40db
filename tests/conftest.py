"""Fixtures: every test that takes `services` runs on SQLite and on PostgreSQL
(tests/support/databases.py says which); the app over ASGI; test data factories."""

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import httpx
import pytest

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.db import Database
from sugang.runtime import Services
from tests.support.databases import (
    OPENING,
    TEST_SECRET,
    ensure_pg_database,
    migrate_to_head,
    pg_url,
    truncate,
)
from tests.support.factories import Factory


@pytest.fixture(scope="session")
def pg_database() -> str:
    url = pg_url()
    try:
        asyncio.run(ensure_pg_database(url))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL at {url} is not reachable ({error}). `make test` starts one; "
            "or set SUGANG_TEST_DATABASE_URL."
        )
    asyncio.run(migrate_to_head(url))
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(migrate_to_head(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "sugang.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        url: str = request.getfixturevalue("pg_database")
        asyncio.run(truncate(url))
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        db_pool_size=30,
        db_max_overflow=10,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENING)


@pytest.fixture
def service_overrides() -> dict[str, Any]:
    """Parts of `services` a test module chooses (a Redis waiting room, Redis flags...):
    override this fixture to run the module on another backend."""
    return {}


@pytest.fixture
async def services(
    settings: Settings, clock: FixedClock, service_overrides: dict[str, Any]
) -> AsyncIterator[Services]:
    services = Services(
        settings=settings, db=Database(settings), clock=clock, rng=Random(7), **service_overrides
    )
    yield services
    await services.close()


@pytest.fixture
def factory(services: Services) -> Factory:
    return Factory(services)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sugang.test") as client:
        yield client
