"""`sugang db upgrade|current`: schema migrations."""

import typer

from sugang import migrate
from sugang.cli.common import console, run_with_services
from sugang.services import Services

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database in SUGANG_DATABASE_URL to the newest schema."""

    async def work(services: Services) -> str | None:
        await migrate.upgrade(services.db.engine, revision)
        return await migrate.current_revision(services.db.engine)

    console.print(f"database at revision [bold]{run_with_services(work)}[/bold]")


@app.command()
def current() -> None:
    """Print the schema revision of the database."""

    async def work(services: Services) -> str | None:
        return await migrate.current_revision(services.db.engine)

    console.print(run_with_services(work) or "empty (run `sugang db upgrade`)")
