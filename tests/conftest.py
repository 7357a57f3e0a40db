"""Test databases: every test that takes `services` runs on SQLite and on PostgreSQL.

PostgreSQL comes from SUGANG_TEST_DATABASE_URL (default: the local server, database
sugang_test, created if missing). The schema is built once per run by the real migrations;
each test starts from empty tables.
"""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.db import Database, migrate
from sugang.migrations.tables import Base
from sugang.runtime import Services
from tests.factories import Factory

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/sugang_test"
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
# The opening minute of the test term: 10:00 KST on 2027-02-15.
OPENING = datetime(2027, 2, 15, 1, 0, tzinfo=UTC)


def pg_url() -> str:
    return os.environ.get("SUGANG_TEST_DATABASE_URL", DEFAULT_PG_URL)


async def _ensure_pg_database(url: str) -> None:
    parsed = make_url(url)
    params = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
    }
    try:
        conn = await asyncpg.connect(database=parsed.database, **params)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(database="postgres", **params)
        try:
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(database=parsed.database, **params)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> str:
    url = pg_url()
    try:
        asyncio.run(_ensure_pg_database(url))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL at {url} is not reachable ({error}). `make test` starts one; "
            "or set SUGANG_TEST_DATABASE_URL."
        )
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
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
        asyncio.run(_truncate(url))
        yield url


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            await conn.exec_driver_sql("INSERT INTO catalog_state (id, version) VALUES (1, 1)")
    finally:
        await engine.dispose()


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
