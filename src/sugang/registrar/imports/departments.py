"""Departments from CSV: code, name_ko, name_en. Existing codes are renamed, new ones made."""

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog import store as catalog_store
from sugang.catalog.models import Department
from sugang.catalog.schemas import DepartmentIn
from sugang.registrar.imports.rows import (
    ImportReport,
    Row,
    RowError,
    validation_errors,
    write_row,
)

ParsedDepartment = tuple[int, DepartmentIn]


class DepartmentsImport:
    columns = ("code", "name_ko", "name_en")
    optional: frozenset[str] = frozenset()

    def parse(self, rows: list[Row], report: ImportReport) -> list[ParsedDepartment]:
        parsed, seen = [], set()
        for number, row in rows:
            try:
                department = DepartmentIn(**{c: row.get(c, "") for c in self.columns})
            except ValidationError as error:
                report.errors.extend(validation_errors(number, error))
                continue
            if department.code in seen:
                report.errors.append(RowError(number, "code", f"{department.code} appears twice"))
            seen.add(department.code)
            parsed.append((number, department))
        return parsed

    async def prepare(self, parsed: list[ParsedDepartment]) -> None:
        return None

    async def write(
        self, conn: AsyncConnection, parsed: list[ParsedDepartment], report: ImportReport
    ) -> None:
        existing = {
            r.code: r.id for r in await conn.execute(select(Department.code, Department.id))
        }
        for number, department in parsed:
            if department.code in existing:
                await conn.execute(
                    update(Department)
                    .where(Department.id == existing[department.code])
                    .values(name_ko=department.name_ko, name_en=department.name_en)
                )
                report.updated += 1
            else:
                await write_row(report, number, catalog_store.create_department(conn, department))
                report.created += 1
