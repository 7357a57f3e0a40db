"""`sugang db upgrade|current|wait`: schema migrations."""

import asyncio
import time
from pathlib import Path

import typer
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from sugang.cli.common import console, errors, run_with_services
from sugang.config import Settings
from sugang.db import dump, migrate
from sugang.runtime import Services

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="target revision"),
    wait: float = typer.Option(
        0.0, min=0, help="seconds to wait for the database to answer first (it may be starting)"
    ),
) -> None:
    """Migrate the database in SUGANG_DATABASE_URL to the newest schema."""

    async def work(services: Services) -> str | None:
        await _answering(services, wait)
        await migrate.upgrade(services.db.engine, revision)
        settings = services.settings
        if settings.db_pooler == "pgbouncer":
            await migrate.set_role_timeouts(
                services.db.engine,
                settings.db_statement_timeout_ms,
                settings.db_idle_in_transaction_timeout_ms,
            )
        return await migrate.current_revision(services.db.engine)

    console.print(f"database at revision [bold]{run_with_services(work)}[/bold]")


async def _answering(services: Services, timeout: float) -> None:
    """Wait until the database takes a connection, for at most `timeout` seconds (the last
    attempt's error is raised)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await migrate.current_revision(services.db.engine)
            return
        except (OSError, DBAPIError):
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(2)


@app.command()
def current() -> None:
    """Print the schema revision of the database."""

    async def work(services: Services) -> str | None:
        return await migrate.current_revision(services.db.engine)

    console.print(run_with_services(work) or "empty (run `sugang db upgrade`)")


@app.command()
def wait(
    timeout: float = typer.Option(300.0, min=1, help="give up after this many seconds"),
) -> None:
    """Wait until the database answers and its schema serves this code: at this code's
    newest revision, or at a later one recorded as still serving it (an expand-only
    migration). An API pod's init container runs this, so no pod serves before the migration
    Job has finished, and a pod of the release before a migration may still start."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_current_head()

    async def work(services: Services) -> tuple[bool, str | None]:
        deadline = time.monotonic() + timeout
        seen: str | None = None
        while time.monotonic() < deadline:
            try:
                seen = await migrate.current_revision(services.db.engine)
                oldest = await migrate.oldest_code_revision(services.db.engine)
            except (OSError, DBAPIError) as error:  # not up yet
                seen, oldest = f"unreachable ({type(error).__name__})", None
            if migrate.serves_this_code(seen, oldest, script):
                return True, seen
            await asyncio.sleep(2)
        return False, seen

    served, seen = run_with_services(work)
    if not served:
        errors.print(f"the database is at {seen or 'no revision'}, not {head}, after {timeout:g} s")
        raise typer.Exit(1)
    console.print(f"database at revision [bold]{seen}[/bold]")


@app.command()
def backup(
    file: Path = typer.Argument(..., help="where to write it (e.g. sugang-2026-12-01.dump)"),
) -> None:
    """Back up the whole database in SUGANG_DATABASE_URL: pg_dump's custom format for
    PostgreSQL (its client tools, at least the server's version), a copy made by SQLite's
    online backup for SQLite. Safe while the service runs. Written mode 0600."""
    target = dump.Target(Settings().database_url)
    try:
        size = dump.backup(target, file)
    except dump.DumpError as error:
        errors.print(str(error), style="red", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"backed up to [bold]{file}[/bold] ({size / 2**20:.1f} MiB)")


@app.command()
def restore(
    file: Path = typer.Argument(..., help="a file `sugang db backup` wrote"),
    replace: bool = typer.Option(
        False, "--replace", help="replace a database that already holds students or enrollments"
    ),
) -> None:
    """Restore a backup into the database in SUGANG_DATABASE_URL, all or nothing. A database
    that already holds data is replaced only with --replace. Then run `sugang db upgrade` if
    this code is newer than the backup's schema."""
    target = dump.Target(Settings().database_url)

    async def count(services: Services) -> int:
        return await dump.rows_in(services.db.engine)

    try:
        try:
            held = run_with_services(count)
        except (OSError, DBAPIError) as error:
            raise dump.DumpError(f"cannot read the database: {error}") from None
        if held and not replace:
            errors.print(
                f"the database holds {held} rows of students, terms, sections and enrollments: "
                "restoring would replace them. Pass --replace if that is what you want.",
                style="red",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
        dump.restore(target, file)
    except dump.DumpError as error:
        errors.print(str(error), style="red", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"restored [bold]{file}[/bold]; now `sugang db upgrade` if this code is newer")
