"""Migrations build exactly the schema the models describe, and go down and up again."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from sugang.db import migrate
from sugang.migrations.tables import Base
from sugang.runtime import Services
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
