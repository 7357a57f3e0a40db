"""`sugang seed --demo` and `sugang seed --students N --courses M --hot K --seed S`."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sugang.cli.common import console, errors, run_with_services
from sugang.runtime import Services
from sugang.seed.demo import demo_present, seed_demo
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm, seed_synthetic, write_credentials
from sugang.waitingroom.service import RoomChange


def seed(
    demo: Annotated[bool, typer.Option("--demo", help="the small Korean/English demo")] = False,
    students: Annotated[int | None, typer.Option(min=1, help="synthetic: students")] = None,
    courses: Annotated[
        int, typer.Option(min=1, help="synthetic: courses (one section each)")
    ] = 200,
    hot: Annotated[int, typer.Option(min=0, help="synthetic: hot sections")] = 10,
    seed: Annotated[int, typer.Option(help="synthetic: seed (the same seed, the same data)")] = 1,
    capacity: Annotated[int, typer.Option(min=0, help="synthetic: seats per section")] = 40,
    credentials_out: Annotated[
        Path | None, typer.Option(help="synthetic: write student_number,password CSV here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    rush_mode: Annotated[
        bool, typer.Option("--rush-mode", help="synthetic: the term needs the waiting room")
    ] = False,
    allow_production: Annotated[
        bool,
        typer.Option(
            "--allow-production",
            help="synthetic: seed even with SUGANG_ENVIRONMENT=production (a rehearsal on the"
            " cluster's database: thousands of students with one known password)",
        ),
    ] = False,
) -> None:
    """Load demo data, or a deterministic synthetic term for tests and benchmarks."""
    if demo == (students is not None):
        errors.print("give either --demo or --students N (with --courses, --hot, --seed)")
        raise typer.Exit(2)
    if demo:
        _seed_demo()
        return
    assert students is not None
    try:
        spec = SyntheticSpec(
            students=students, courses=courses, hot=hot, seed=seed, capacity=capacity
        )
    except ValueError as error:
        errors.print(str(error))
        raise typer.Exit(2) from None

    async def work(services: Services) -> SyntheticTerm | None:
        if services.settings.environment == "production" and not allow_production:
            errors.print(
                "refusing to create synthetic students with a known password in production;"
                " --allow-production if this is a rehearsal on purpose"
            )
            return None
        async with services.db.transaction() as conn:
            term = await seed_synthetic(
                conn, spec, services.clock, progress=lambda step: errors.print(f"… {step}")
            )
        # A fresh rush: an empty room (shared in Redis, if configured), rush mode as asked.
        await services.queue.reset(term.term_id)
        await services.queue.change(term.term_id, RoomChange(rush_mode=rush_mode), None)
        return term

    try:
        term = run_with_services(work)
    except ValueError as error:  # the seed's term exists with another shape
        errors.print(str(error))
        raise typer.Exit(2) from None
    if term is None:
        raise typer.Exit(2)
    if credentials_out is not None:
        write_credentials(credentials_out, term)
    admin = SyntheticSpec(students=1, courses=1, hot=0, seed=seed).admin_username
    summary = term.as_dict() | {"admin_username": admin, "admin_password": term.admin_password}
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        console.print(
            f"registrar account [bold]{admin}[/bold], password [bold]{term.admin_password}"
            "[/bold] (shown once: every seeding sets a new one)"
        )
        console.print(
            f"synthetic term [bold]{term.term_code}[/bold] (id {term.term_id}): "
            f"{len(term.student_ids)} students, {len(term.section_ids)} sections, "
            f"hot sections {term.hot_section_ids}"
        )


def _seed_demo() -> None:
    async def work(services: Services) -> list[tuple[str, str, str, str]] | None:
        if services.settings.environment == "production":
            errors.print("refusing to create demo accounts with known passwords in production")
            return None
        async with services.db.transaction() as conn:
            if await demo_present(conn):
                return []
            accounts = await seed_demo(conn, services.clock)
        return [(a.role, a.username, a.name, a.password) for a in accounts]

    accounts = run_with_services(work)
    if accounts is None:
        raise typer.Exit(1)
    if not accounts:
        console.print("demo data is already there (accounts and password: see README)")
        return
    table = Table(title="demo accounts (shown once; also in the README)")
    for column in ("role", "user name / 학번", "name", "password"):
        table.add_column(column)
    for row in accounts:
        table.add_row(*row)
    console.print(table)
