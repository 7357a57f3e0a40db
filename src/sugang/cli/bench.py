"""`sugang bench enroll`: fire enroll attempts at a running server, then audit the database."""

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from sugang.bench.enroll import EnrollScenario, audit, run_enroll_scenario
from sugang.cli.common import console, errors
from sugang.config import Settings
from sugang.db import Database

app = typer.Typer(help="Load benchmarks against a running sugang.", no_args_is_help=True)


@app.command()
def enroll(
    url: Annotated[str, typer.Option(help="base URL of the running server")],
    credentials: Annotated[
        Path, typer.Option(exists=True, help="CSV from `sugang seed --credentials-out`")
    ],
    attempts_per_student: Annotated[int, typer.Option(min=1)] = 4,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight")] = 200,
    seed: Annotated[int, typer.Option(help="seed of the attempt plan")] = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the report here")] = None,
    skip_audit: Annotated[bool, typer.Option(help="do not read SUGANG_DATABASE_URL")] = False,
) -> None:
    """Log every student in (not timed), fire their attempts concurrently, report attempts/s
    and latency, then audit the database; exit 1 if an invariant broke or a 5xx was seen."""
    scenario = EnrollScenario(url.rstrip("/"), credentials, attempts_per_student, concurrency, seed)

    async def main() -> dict[str, Any]:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as progress:
            task = progress.add_task("logging in", total=None)
            result, term_id = await run_enroll_scenario(
                scenario,
                on_answer=lambda _: progress.advance(task),
                on_plan=lambda total: progress.update(
                    task, description="enrolling", total=total, completed=0
                ),
            )
        report: dict[str, Any] = {
            "scenario": {
                "url": scenario.url,
                "attempts_per_student": attempts_per_student,
                "concurrency": concurrency,
                "seed": seed,
            },
            "load": result.summary(),
        }
        if not skip_audit:
            db = Database(Settings())
            try:
                report["audit"] = (await audit(db, term_id, result.answers)).summary()
            finally:
                await db.dispose()
        return report

    report = asyncio.run(main())
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if json_out:
        json_out.write_text(text + "\n")
    console.print_json(text)
    failed = report["load"]["server_errors"] or not report.get("audit", {"ok": True})["ok"]
    raise typer.Exit(1 if failed else 0)
