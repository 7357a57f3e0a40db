"""Migrations build exactly the schema the models describe, and go down and up again."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sugang.db import migrate
from sugang.migrations.tables import Base
from sugang.runtime import Services
from tests.support.databases import ensure_pg_database
from tests.support.factories import Factory


async def test_migrated_schema_matches_the_models(services: Services) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with services.db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_downgrade_to_nothing_and_up_again(services: Services) -> None:
    engine = services.db.engine
    await migrate.downgrade(engine, "base")
    assert await migrate.current_revision(engine) is None
    await migrate.upgrade(engine)
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert await migrate.current_revision(engine) == head


async def test_rebuilding_the_users_table_keeps_everything_that_hangs_on_it(
    services: Services, factory: Factory
) -> None:
    """0005 rebuilds `users` on SQLite (for AUTOINCREMENT): with foreign keys on, dropping the
    old table would delete every student in cascade. An idempotency record of no user is
    dropped on the way (the new foreign key would refuse it)."""
    engine = services.db.engine
    await migrate.downgrade(engine, "0004")
    student = await factory.student()
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO idempotency_records (user_id, key, fingerprint, created_at)"
            f" VALUES ({student}, 'kept', 'f', '2027-02-15 01:00:00'),"
            " (999999, 'orphan', 'f', '2027-02-15 01:00:00')"
        )

    await migrate.upgrade(engine)

    assert await factory.count("students", id=student) == 1
    assert await factory.count("idempotency_records", user_id=student) == 1
    assert await factory.count("idempotency_records", user_id=999999) == 0


async def test_the_schema_records_the_oldest_code_it_serves(services: Services) -> None:
    engine = services.db.engine
    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_revision(script.get_current_head())
    assert head is not None
    expected = getattr(head.module, "serves_code_from", head.revision)
    assert await migrate.oldest_code_revision(engine) == expected
    await migrate.downgrade(engine, "0005")  # before the record existed
    assert await migrate.oldest_code_revision(engine) is None
    await migrate.upgrade(engine)


def test_code_serves_its_head_and_later_schemas_that_say_they_serve_it() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_current_head()
    assert migrate.serves_this_code(head, head, script)
    assert not migrate.serves_this_code(None, None, script)  # not migrated yet
    assert not migrate.serves_this_code("0004", "0004", script)  # older than this code needs
    # a later release's expand-only migration, recorded as serving this code's head
    assert migrate.serves_this_code("9999", head, script)
    # a later contract: it serves only code this release does not know
    assert not migrate.serves_this_code("9999", "9999", script)
    assert not migrate.serves_this_code("9999", None, script)


async def test_two_migrations_started_at_once_run_one_after_the_other(pg_database: str) -> None:
    """Two migration Jobs (a rollout racing a retry): PostgreSQL's advisory lock makes the
    second wait, then find nothing to do; without it, both create the same tables."""
    url = make_url(pg_database)
    fresh = url.set(database=f"{url.database}_lock")
    await ensure_pg_database(fresh.render_as_string(hide_password=False))
    engines = [create_async_engine(fresh) for _ in range(2)]
    try:
        both = asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
        await asyncio.wait_for(both, 60)  # without the lock they lock each other out
        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        assert await migrate.current_revision(engines[0]) == head
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))
