"""The databases tests run on: PostgreSQL at SUGANG_TEST_DATABASE_URL (default: the local
server, database sugang_test, created if missing) and a SQLite file per test, both built by
the real migrations; every test starts from empty tables."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sugang.clock import Clock
from sugang.config import Settings
from sugang.db import Database, migrate
from sugang.migrations.tables import Base
from sugang.runtime import Services

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/sugang_test"
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
# The opening minute of the test term: 10:00 KST on 2027-02-15.
OPENING = datetime(2027, 2, 15, 1, 0, tzinfo=UTC)


def pg_url() -> str:
    """The test database; with parallel workers (pytest -n), one database each."""
    url = make_url(os.environ.get("SUGANG_TEST_DATABASE_URL", DEFAULT_PG_URL))
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        url = url.set(database=f"{url.database}_{worker}")
    return url.render_as_string(hide_password=False)


async def ensure_pg_database(url: str) -> None:
    """Create the database if it is missing, and empty its schema."""
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


async def migrate_to_head(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def truncate(url: str) -> None:
    """Every table emptied, ids restarted, the catalog version row put back (the schema's
    own record of the code it serves, which migrations write, is kept)."""
    engine = create_async_engine(url)
    tables = ", ".join(
        t.name for t in Base.metadata.sorted_tables if t.name != "schema_compatibility"
    )
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            await conn.exec_driver_sql("INSERT INTO catalog_state (id, version) VALUES (1, 1)")
    finally:
        await engine.dispose()


@asynccontextmanager
async def services_with(
    settings: Settings, clock: Clock, **changes: Any
) -> AsyncIterator[Services]:
    """The process's services on the test database, with some settings changed."""
    changed = settings.model_copy(update=changes)
    services = Services(settings=changed, db=Database(changed), clock=clock)
    try:
        yield services
    finally:
        await services.close()
