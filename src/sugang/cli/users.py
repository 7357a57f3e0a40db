"""`sugang users create --role ...`."""

from typing import Annotated, cast

import typer

from sugang.auth.store import create_user
from sugang.auth.tokens import Role
from sugang.cli.common import console, errors, run_with_services
from sugang.runtime import Services

app = typer.Typer(help="Accounts for professors and registrar staff.", no_args_is_help=True)


@app.command()
def create(
    username: Annotated[str, typer.Option(help="login name")],
    role: Annotated[str, typer.Option(help="professor or admin")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="SUGANG_NEW_USER_PASSWORD",
        ),
    ] = "",
) -> None:
    """Create a professor or admin account. Students come from `sugang import students`."""
    if role not in ("professor", "admin"):
        errors.print("--role must be professor or admin (students: sugang import students)")
        raise typer.Exit(2)
    if len(password) < 8:
        errors.print("the password must have at least 8 characters")
        raise typer.Exit(2)

    async def work(services: Services) -> int:
        async with services.db.transaction() as conn:
            user = await create_user(
                conn,
                username=username,
                name=name or username,
                role=cast(Role, role),
                password=password,
                clock=services.clock,
            )
            return user.id

    console.print(f"created {role} [bold]{username}[/bold] (id {run_with_services(work)})")
