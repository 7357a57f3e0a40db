"""CSV import of departments, the catalog (courses + sections) and students: one typed
importer per kind (departments.py, catalog.py, students.py).

All or nothing: every row is validated first, then all rows are written through the same
store functions the API uses, in one transaction. Any error, in parsing or in writing, is
reported with its row number and nothing is written.
"""

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.db import Database
from sugang.registrar.imports.rows import ImportKind, ImportReport, Row, read_rows

Parsed = TypeVar("Parsed")


class Importer(Protocol[Parsed]):
    @property
    def columns(self) -> tuple[str, ...]:
        """The file's columns, in the order the docs give them."""
        ...

    @property
    def optional(self) -> frozenset[str]:
        """The columns a file may leave out."""
        ...

    def parse(self, rows: list[Row], report: ImportReport) -> list[Parsed]:
        """Every row validated; a bad one is an error in the report."""
        ...

    async def prepare(self, parsed: list[Parsed]) -> None:
        """Slow work that needs no transaction (password hashing)."""
        ...

    async def write(
        self, conn: AsyncConnection, parsed: list[Parsed], report: ImportReport
    ) -> None: ...


async def run_import(
    db: Database,
    kind: ImportKind,
    importer: Importer[Parsed],
    text: str,
    audited: Callable[[AsyncConnection, ImportReport], Awaitable[None]] | None = None,
) -> ImportReport:
    """Parse, validate and write the file; ImportInvalid with every bad row, nothing
    written, if any row is bad. `audited` records the import in the same transaction."""
    report = ImportReport(kind)
    rows = read_rows(text, importer.columns, importer.optional, report)
    parsed = importer.parse(rows, report)
    if report.errors:
        report.refuse()
    await importer.prepare(parsed)

    async def write(conn: AsyncConnection) -> ImportReport:
        report.created = report.updated = 0  # this may be a retry after a deadlock
        report.sections_changed.clear()
        await importer.write(conn, parsed, report)
        if report.errors:
            report.refuse()
        if audited is not None:
            await audited(conn, report)
        return report

    return await db.run(write)
