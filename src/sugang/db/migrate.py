"""Schema migrations (Alembic), run on a connection of our own async engine. The revisions
live in sugang/migrations; this runner points Alembic at them, holds PostgreSQL's advisory
lock meanwhile (two migrations started at once run one after the other: the second finds
nothing left to do), and records which code the schema still serves (sugang.db.compat)."""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
# pg_advisory_xact_lock's key for migrations ("sugang" in ASCII)
MIGRATION_LOCK = 0x7375_6761_6E67


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda config: command.downgrade(config, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def oldest_code_revision(engine: AsyncEngine) -> str | None:
    """The oldest code revision the schema says it still serves (None: not recorded)."""

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("schema_compatibility"):
            return None
        found = connection.execute(text("SELECT oldest_code_revision FROM schema_compatibility"))
        return found.scalar()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def serves_this_code(seen: str | None, oldest: str | None, script: ScriptDirectory) -> bool:
    """Whether this code may serve a database at revision `seen`: it is this code's head, or
    a later revision (one this code does not know) recorded as serving this code's head."""
    if seen is not None and seen == script.get_current_head():
        return True
    if seen is None or oldest is None or _knows(script, seen):
        return False  # not migrated yet, or an older schema than this code needs
    return _knows(script, oldest)


def _knows(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


def _record_compatibility(connection: Connection, config: Config) -> None:
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None or not inspect(connection).has_table("schema_compatibility"):
        return
    migration = ScriptDirectory.from_config(config).get_revision(current)
    oldest = getattr(migration.module, "serves_code_from", current) if migration else current
    connection.execute(text("DELETE FROM schema_compatibility"))
    connection.execute(
        text("INSERT INTO schema_compatibility (id, oldest_code_revision) VALUES (1, :oldest)"),
        {"oldest": oldest},
    )


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)
        _record_compatibility(connection, config)

    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # A table rebuilt by a migration (SQLite's only way to alter most things) is
            # dropped and renamed: with foreign keys on, dropping it would delete in cascade.
            # The pragma only takes effect outside a transaction, so before the first one.
            await conn.run_sync(_sqlite_foreign_keys, False)
        try:
            async with conn.begin():
                if not sqlite:  # a migration may take longer than a request
                    await conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                await conn.run_sync(run)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await conn.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """On the driver's connection, so that no transaction is begun first."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


async def set_role_timeouts(engine: AsyncEngine, statement_ms: int, idle_ms: int) -> None:
    """Behind PgBouncer the app cannot send its timeouts when it connects (the pooler refuses
    startup parameters): make them its role's defaults, which every new server connection
    takes. Any role may set its own."""
    async with engine.begin() as conn:
        for name, value in (
            ("statement_timeout", statement_ms),
            ("idle_in_transaction_session_timeout", idle_ms),
        ):
            await conn.exec_driver_sql(f"ALTER ROLE CURRENT_USER SET {name} = {int(value)}")
