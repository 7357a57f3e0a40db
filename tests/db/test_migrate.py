"""Migrations build exactly the schema the models describe, and go down and up again."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from sugang.db import migrate
from sugang.migrations.tables import Base
from sugang.runtime import Services


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
