"""CSV import of departments, the catalog (courses + sections) and students.

All or nothing: every row is validated first, then all rows are written through the same
service functions the API uses, in one transaction. Any error, in parsing or in writing,
is reported with its row number and nothing is written.
"""

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.models import User
from sugang.auth.passwords import hash_password
from sugang.catalog import service as catalog
from sugang.catalog.models import Course, Department, Section, Term
from sugang.catalog.schemas import (
    CourseIn,
    CoursePatch,
    DepartmentIn,
    SectionIn,
    SectionPatch,
    parse_meeting_times,
)
from sugang.clock import Clock
from sugang.db import Database
from sugang.enrollment.service import EnrollmentService
from sugang.errors import ImportInvalid, SugangError
from sugang.students import service as students
from sugang.students.schemas import StudentIn, StudentPatch

ImportKind = Literal["departments", "catalog", "students"]

COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    "departments": ("code", "name_ko", "name_en"),
    "catalog": (
        "term_code",
        "course_code",
        "title_ko",
        "title_en",
        "credits",
        "department_code",
        "section_number",
        "capacity",
        "instructor_name",
        "meeting_times",
        "prerequisites",
    ),
    "students": (
        "student_number",
        "name",
        "year",
        "department_code",
        "max_credits",
        "password",
        "completed_courses",
    ),
}
OPTIONAL_COLUMNS = {
    "instructor_name",
    "instructor_username",
    "prerequisites",
    "meeting_times",
    "completed_courses",
    "max_credits",
    "department_code",
    "password",
}


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
        }


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


async def import_csv(
    db: Database,
    enrollment: EnrollmentService,
    kind: ImportKind,
    text: str,
    *,
    clock: Clock,
    actor_id: int | None = None,
) -> ImportReport:
    report = ImportReport(kind)
    rows = _read_rows(text, kind, report)
    parsed = _PARSERS[kind](rows, report)
    if report.errors:
        _refuse(report)
    if kind == "students":
        await _hash_passwords(parsed)

    async def write(conn: AsyncConnection) -> ImportReport:
        report.created = report.updated = 0  # this may be a retry after a deadlock
        writer = _WRITERS[kind]
        await writer(conn, parsed, report, clock, enrollment, actor_id)
        if report.errors:
            _refuse(report)
        return report

    return await db.run(write)


def _refuse(report: ImportReport) -> None:
    raise ImportInvalid(
        error_count=len(report.errors), errors=[e.as_dict() for e in report.errors[:500]]
    )


def _read_rows(
    text: str, kind: ImportKind, report: ImportReport
) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS[kind] if c not in header and c not in OPTIONAL_COLUMNS]
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


def _validation_errors(number: int, error: ValidationError | ValueError) -> list[RowError]:
    if isinstance(error, ValidationError):
        return [
            RowError(number, ".".join(str(p) for p in e["loc"]) or None, e["msg"])
            for e in error.errors()
        ]
    return [RowError(number, None, str(error))]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


# --- parsing ----------------------------------------------------------------------------


@dataclass
class _CatalogRow:
    """One section row. None means the column is absent: leave that field as it is."""

    number: int
    term_code: str
    course: CourseIn
    prerequisites_given: bool
    section_number: int
    capacity: int
    instructor_name: str | None
    instructor_username: str | None
    meeting_times: list[Any] | None


def _parse_departments(rows: list[tuple[int, dict[str, str]]], report: ImportReport) -> Any:
    parsed, seen = [], set()
    for number, row in rows:
        try:
            department = DepartmentIn(**{c: row.get(c, "") for c in COLUMNS["departments"]})
        except ValidationError as error:
            report.errors.extend(_validation_errors(number, error))
            continue
        if department.code in seen:
            report.errors.append(RowError(number, "code", f"{department.code} appears twice"))
        seen.add(department.code)
        parsed.append((number, department))
    return parsed


def _parse_catalog(rows: list[tuple[int, dict[str, str]]], report: ImportReport) -> Any:
    parsed: list[_CatalogRow] = []
    courses: dict[str, CourseIn] = {}
    sections: set[tuple[str, str, str]] = set()
    for number, row in rows:
        try:
            course = CourseIn(
                code=row.get("course_code", ""),
                title_ko=row.get("title_ko", ""),
                title_en=row.get("title_en", ""),
                credits=row.get("credits", ""),
                department_code=row.get("department_code", ""),
                prerequisite_codes=_split(row.get("prerequisites", "")),
            )
            meetings = parse_meeting_times(row["meeting_times"]) if "meeting_times" in row else None
            section_number = int(row.get("section_number") or "x")
            capacity = int(row.get("capacity") or "x")
            section_check = SectionIn(
                term_id=1, course_code=course.code, number=section_number, capacity=capacity
            )
        except ValidationError as error:
            report.errors.extend(_validation_errors(number, error))
            continue
        except ValueError as error:
            message = str(error)
            if "invalid literal for int" in message:
                message = "section_number and capacity must be whole numbers"
            report.errors.append(RowError(number, None, message))
            continue
        del section_check
        earlier = courses.setdefault(course.code, course)
        if earlier != course:
            report.errors.append(
                RowError(
                    number,
                    "course_code",
                    f"{course.code} is described differently on an earlier row",
                )
            )
        key = (row.get("term_code", ""), course.code, str(section_number))
        if key in sections:
            report.errors.append(
                RowError(
                    number,
                    "section_number",
                    f"{course.code} section {section_number} appears twice",
                )
            )
        sections.add(key)
        parsed.append(
            _CatalogRow(
                number=number,
                term_code=row.get("term_code", ""),
                course=course,
                prerequisites_given="prerequisites" in row,
                section_number=section_number,
                capacity=capacity,
                instructor_name=row.get("instructor_name"),
                instructor_username=row.get("instructor_username"),
                meeting_times=meetings,
            )
        )
    return parsed


@dataclass
class _StudentRow:
    number: int
    data: StudentIn | None
    patch: StudentPatch
    student_number: str
    password: str | None
    password_hash: str | None = None


def _parse_students(rows: list[tuple[int, dict[str, str]]], report: ImportReport) -> Any:
    """New students take defaults for absent columns; existing ones keep those fields."""
    parsed, seen = [], set()
    for number, row in rows:
        student_number = row.get("student_number", "")
        password = row.get("password") or None
        changes: dict[str, Any] = {"name": row.get("name", ""), "year": row.get("year", "")}
        if "department_code" in row:
            changes["department_code"] = row["department_code"] or None
        if row.get("max_credits"):
            changes["max_credits"] = row["max_credits"]
        if "completed_courses" in row:
            changes["completed_course_codes"] = _split(row["completed_courses"])
        try:
            patch = StudentPatch(**changes, password=password)
            data = (
                StudentIn(student_number=student_number, **changes, password=password)
                if password
                else None
            )
        except ValidationError as error:
            report.errors.extend(_validation_errors(number, error))
            continue
        if student_number in seen:
            report.errors.append(RowError(number, "student_number", "appears twice"))
        seen.add(student_number)
        parsed.append(_StudentRow(number, data, patch, student_number, password))
    return parsed


async def _hash_passwords(rows: list[_StudentRow]) -> None:
    async def one(row: _StudentRow) -> None:
        if row.password:
            row.password_hash = await hash_password(row.password)

    await asyncio.gather(*(one(r) for r in rows))


_PARSERS: dict[ImportKind, Callable[[list[tuple[int, dict[str, str]]], ImportReport], Any]] = {
    "departments": _parse_departments,
    "catalog": _parse_catalog,
    "students": _parse_students,
}


# --- writing ----------------------------------------------------------------------------

Writer = Callable[
    [AsyncConnection, Any, ImportReport, Clock, EnrollmentService, int | None], Awaitable[None]
]


async def _write_departments(
    conn: AsyncConnection, parsed: Any, report: ImportReport, *_: Any
) -> None:
    existing = {r.code: r.id for r in await conn.execute(select(Department.code, Department.id))}
    for number, department in parsed:
        if department.code in existing:
            await conn.execute(
                update(Department)
                .where(Department.id == existing[department.code])
                .values(name_ko=department.name_ko, name_en=department.name_en)
            )
            report.updated += 1
        else:
            await _row(report, number, catalog.create_department(conn, department))
            report.created += 1


async def _write_catalog(
    conn: AsyncConnection,
    parsed: list[_CatalogRow],
    report: ImportReport,
    clock: Clock,
    enrollment: EnrollmentService,
    actor_id: int | None,
) -> None:
    terms = {r.code: r.id for r in await conn.execute(select(Term.code, Term.id))}
    courses = {r.code: r.id for r in await conn.execute(select(Course.code, Course.id))}
    first_row: dict[str, _CatalogRow] = {}
    for row in parsed:
        first_row.setdefault(row.course.code, row)
    # Courses first without prerequisites, so rows may name courses defined further down.
    for code, row in first_row.items():
        bare = row.course.model_copy(update={"prerequisite_codes": []})
        if code in courses:
            patch = CoursePatch(**bare.model_dump(exclude={"code", "prerequisite_codes"}))
            await _row(report, row.number, catalog.update_course(conn, courses[code], patch))
        else:
            course_id = await _row(report, row.number, catalog.create_course(conn, bare))
            if course_id is not None:
                courses[code] = course_id
    for code, row in first_row.items():
        if code in courses and row.prerequisites_given:
            patch = CoursePatch(prerequisite_codes=row.course.prerequisite_codes)
            await _row(report, row.number, catalog.update_course(conn, courses[code], patch))
    for row in parsed:
        term_id = terms.get(row.term_code)
        if term_id is None:
            report.errors.append(RowError(row.number, "term_code", f"no term {row.term_code!r}"))
            continue
        course_id = courses.get(row.course.code)
        if course_id is None:
            continue
        section_id = await conn.scalar(
            select(Section.id).where(
                Section.term_id == term_id,
                Section.course_id == course_id,
                Section.number == row.section_number,
            )
        )
        if section_id is None:
            created = SectionIn(
                term_id=term_id,
                course_code=row.course.code,
                number=row.section_number,
                capacity=row.capacity,
                instructor_name=row.instructor_name or "",
                instructor_username=row.instructor_username or None,
                meeting_times=row.meeting_times or [],
            )
            await _row(report, row.number, catalog.create_section(conn, created))
            report.created += 1
        else:
            section_patch = SectionPatch(
                capacity=row.capacity,
                instructor_name=row.instructor_name,
                instructor_username=row.instructor_username,
                meeting_times=row.meeting_times,
            )
            await _row(
                report,
                row.number,
                catalog.update_section(conn, section_id, section_patch, enrollment, actor_id),
            )
            report.updated += 1


async def _write_students(
    conn: AsyncConnection,
    parsed: list[_StudentRow],
    report: ImportReport,
    clock: Clock,
    *_: Any,
) -> None:
    existing = {
        r.username: r.id
        for r in await conn.execute(
            select(User.username, User.id).where(
                User.username.in_([row.student_number for row in parsed])
            )
        )
    }
    for row in parsed:
        if row.student_number in existing:
            patch = row.patch.model_copy(update={"password": None})
            await _row(
                report,
                row.number,
                students.update_student(conn, existing[row.student_number], patch),
            )
            if row.password_hash:
                await conn.execute(
                    update(User)
                    .where(User.id == existing[row.student_number])
                    .values(password_hash=row.password_hash)
                )
            report.updated += 1
        elif row.data is None:
            report.errors.append(RowError(row.number, "password", "a new student needs a password"))
        else:
            await _row(
                report,
                row.number,
                students.create_student(conn, row.data, clock, password_hash=row.password_hash),
            )
            report.created += 1


async def _row(report: ImportReport, number: int, action: Awaitable[Any]) -> Any:
    """Run one row's write; a refusal becomes that row's error (the transaction is rolled
    back at the end, so a half-applied row is never kept)."""
    try:
        return await action
    except SugangError as refusal:
        report.errors.append(RowError(number, None, refusal.messages()["en"]))
        return None


_WRITERS: dict[ImportKind, Writer] = {
    "departments": _write_departments,
    "catalog": _write_catalog,
    "students": _write_students,
}
