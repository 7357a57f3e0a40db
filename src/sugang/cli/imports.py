"""`sugang import departments|catalog|students FILE`."""

from pathlib import Path
from typing import Annotated

import typer

from sugang.cli.common import console, run_with_services
from sugang.registrar.imports.rows import ImportKind, ImportReport, decode_csv
from sugang.registrar.service import IMPORT_COLUMNS
from sugang.runtime import Services

app = typer.Typer(
    help="Import CSV files. All rows or none: any bad row is reported and nothing is written.",
    no_args_is_help=True,
)


def _import(kind: ImportKind, path: Path) -> None:
    text = decode_csv(path.read_bytes())

    async def work(services: Services) -> ImportReport:
        return await services.registrar.import_csv(kind, text, actor_id=None)

    report = run_with_services(work)
    console.print(
        f"imported {report.rows} {kind} rows: {report.created} created, {report.updated} updated"
    )


def _command(kind: ImportKind) -> None:
    def command(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    ) -> None:
        _import(kind, path)

    command.__doc__ = f"Import {kind} from CSV with columns: {', '.join(IMPORT_COLUMNS[kind])}."
    app.command(kind)(command)


for _kind in ("departments", "catalog", "students"):
    _command(_kind)
