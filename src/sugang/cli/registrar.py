"""`sugang registrar auto-enroll --term T`."""

import json
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import select

from sugang.catalog.models import Term
from sugang.cli.common import console, run_with_services
from sugang.errors import NotFound
from sugang.registrar.auto_enroll import AutoEnrollReport, auto_enroll
from sugang.services import Services

app = typer.Typer(help="Registrar operations.", no_args_is_help=True)


@app.command("auto-enroll")
def auto_enroll_command(
    term: Annotated[str, typer.Option(help="term code (e.g. 2027-1) or id")],
) -> None:
    """Enroll every basket entry of the sections whose basket demand fits their seats;
    contested sections are left for the live rush."""

    async def work(services: Services) -> AutoEnrollReport:
        async with services.db.transaction(write=False) as conn:
            term_id = await conn.scalar(
                select(Term.id).where(
                    (Term.code == term) | (Term.id == (int(term) if term.isdigit() else -1))
                )
            )
        if term_id is None:
            raise NotFound(what=f"term {term}", what_ko=f"학기 {term}")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("auto-enrolling", total=None)
            return await auto_enroll(
                services.db,
                services.enrollment,
                term_id,
                actor_id=None,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )

    report = run_with_services(work)
    console.print_json(json.dumps(report.as_dict()))
