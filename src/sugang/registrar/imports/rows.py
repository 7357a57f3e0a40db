"""Reading a CSV upload into rows, and the report that names every bad row."""

import csv
import io
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, TypeVar

from pydantic import ValidationError

from sugang.errors import ImportInvalid, SugangError

ImportKind = Literal["departments", "catalog", "students"]
Row = tuple[int, dict[str, str]]  # (line number, column -> value)
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = the header line, as a spreadsheet numbers it
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    kind: ImportKind
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Sections the file edited (more seats may be among the changes): their full-section flags
    # are cleared after the commit.
    sections_changed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
        }

    def refuse(self) -> NoReturn:
        raise ImportInvalid(
            error_count=len(self.errors), errors=[e.as_dict() for e in self.errors[:500]]
        )


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else CP949, which Korean spreadsheet exports often use."""
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportInvalid(
        error_count=1,
        errors=[RowError(1, None, "the file is neither UTF-8 nor CP949 text").as_dict()],
    )


def read_rows(
    text: str, required: tuple[str, ...], optional: frozenset[str], report: ImportReport
) -> list[Row]:
    """The non-empty data rows, values stripped; a missing column or an unreadable line is
    an error in the report."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header and c not in optional]
    if missing:
        report.errors.append(RowError(1, None, f"missing column(s): {', '.join(missing)}"))
        return []
    rows = []
    try:
        for raw in reader:
            number = reader.line_num
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(row.values()):
                continue
            if None in raw:
                report.errors.append(RowError(number, None, "more fields than the header has"))
                continue
            rows.append((number, row))
    except csv.Error as error:  # e.g. an unclosed quote swallowing the rest of the file
        report.errors.append(RowError(reader.line_num, None, f"unreadable CSV: {error}"))
    report.rows = len(rows)
    if not rows and not report.errors:
        report.errors.append(RowError(1, None, "the file has no data rows"))
    return rows


def validation_errors(number: int, error: ValidationError | ValueError) -> list[RowError]:
    if isinstance(error, ValidationError):
        return [
            RowError(number, ".".join(str(p) for p in e["loc"]) or None, e["msg"])
            for e in error.errors()
        ]
    return [RowError(number, None, str(error))]


def split(value: str) -> list[str]:
    """'A; B;C' -> ['A', 'B', 'C']."""
    return [part.strip() for part in value.split(";") if part.strip()]


async def write_row(report: ImportReport, number: int, action: Awaitable[T]) -> T | None:
    """Run one row's write; a refusal becomes that row's error (the transaction is rolled
    back at the end, so a half-applied row is never kept)."""
    try:
        return await action
    except SugangError as refusal:
        report.errors.append(RowError(number, None, refusal.messages()["en"]))
        return None
