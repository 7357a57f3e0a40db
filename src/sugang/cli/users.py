"""`sugang users create --role ...`."""

from typing import Annotated, Literal, cast

import typer

from sugang.auth.schemas import UserOut, UserPatch
from sugang.auth.store import create_user, find_by_name
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


@app.command()
def update(
    username: Annotated[str, typer.Argument(help="login name (a student's: the student number)")],
    new_password: Annotated[
        bool, typer.Option("--password", help="set a new password (prompted)")
    ] = False,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="refuse or allow logging in")
    ] = None,
    role: Annotated[str | None, typer.Option(help="professor or admin (staff only)")] = None,
) -> None:
    """Reset a password, disable or enable an account, or change a staff account's role — for
    when no registrar can log in. Each logs the user out everywhere; audited with no actor."""
    if role not in (None, "professor", "admin"):
        errors.print("--role must be professor or admin")
        raise typer.Exit(2)
    password = None
    if new_password:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            errors.print("the password must have at least 8 characters")
            raise typer.Exit(2)
    patch = UserPatch(
        password=password, disabled=disable, role=cast(Literal["professor", "admin"] | None, role)
    )

    async def work(services: Services) -> UserOut:
        async with services.db.transaction(write=False) as conn:
            user = await find_by_name(conn, username)
        if user is None:
            errors.print(f"no user {username!r}")
            raise typer.Exit(1)
        return await services.auth.update_user(user.id, patch, None)

    updated = run_with_services(work)
    state = "disabled" if updated.disabled else "enabled"
    console.print(f"updated [bold]{updated.username}[/bold]: {updated.role}, {state}")
