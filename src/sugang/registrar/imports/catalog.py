"""The catalog from CSV: one row per section, with its course. Courses are created or
updated (prerequisites after all of them, so a row may name a course defined further down),
then sections; an existing section's edit hands new seats to its waitlist."""

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog import store as catalog_store
from sugang.catalog.models import Course, Section, Term
from sugang.catalog.schemas import (
    CourseIn,
    CoursePatch,
    MeetingTimeIn,
    SectionIn,
    SectionPatch,
    parse_meeting_times,
)
from sugang.enrollment.service import EnrollmentService
from sugang.registrar.imports.rows import (
    ImportReport,
    Row,
    RowError,
    split,
    validation_errors,
    write_row,
)


@dataclass
class CatalogRow:
    """One section row. None means the column is absent: leave that field as it is."""

    number: int
    term_code: str
    course: CourseIn
    prerequisites_given: bool
    section_number: int
    capacity: int
    instructor_name: str | None
    instructor_username: str | None
    meeting_times: list[MeetingTimeIn] | None


class CatalogImport:
    columns = (
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
    )
    optional = frozenset(
        {"instructor_name", "instructor_username", "prerequisites", "meeting_times"}
        | {"department_code"}
    )

    def __init__(self, enrollment: EnrollmentService, actor_id: int | None) -> None:
        self.enrollment = enrollment
        self.actor_id = actor_id

    def parse(self, rows: list[Row], report: ImportReport) -> list[CatalogRow]:
        parsed: list[CatalogRow] = []
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
                    prerequisite_codes=split(row.get("prerequisites", "")),
                )
                meetings = (
                    parse_meeting_times(row["meeting_times"]) if "meeting_times" in row else None
                )
                section_number = int(row.get("section_number") or "x")
                capacity = int(row.get("capacity") or "x")
                SectionIn(
                    term_id=1, course_code=course.code, number=section_number, capacity=capacity
                )
            except ValidationError as error:
                report.errors.extend(validation_errors(number, error))
                continue
            except ValueError as error:
                message = str(error)
                if "invalid literal for int" in message:
                    message = "section_number and capacity must be whole numbers"
                report.errors.append(RowError(number, None, message))
                continue
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
                CatalogRow(
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

    async def prepare(self, parsed: list[CatalogRow]) -> None:
        return None

    async def write(
        self, conn: AsyncConnection, parsed: list[CatalogRow], report: ImportReport
    ) -> None:
        terms = {r.code: r.id for r in await conn.execute(select(Term.code, Term.id))}
        courses = await self._write_courses(conn, parsed, report)
        for row in parsed:
            term_id = terms.get(row.term_code)
            if term_id is None:
                report.errors.append(
                    RowError(row.number, "term_code", f"no term {row.term_code!r}")
                )
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
                await write_row(report, row.number, catalog_store.create_section(conn, created))
                report.created += 1
            else:
                patch = SectionPatch(
                    capacity=row.capacity,
                    instructor_name=row.instructor_name,
                    instructor_username=row.instructor_username,
                    meeting_times=row.meeting_times,
                )
                await write_row(report, row.number, self._edit_section(conn, section_id, patch))
                report.updated += 1
                report.sections_changed.append(section_id)

    async def _write_courses(
        self, conn: AsyncConnection, parsed: list[CatalogRow], report: ImportReport
    ) -> dict[str, int]:
        """Every course of the file created or updated; the ids by code."""
        courses = {r.code: r.id for r in await conn.execute(select(Course.code, Course.id))}
        first_row: dict[str, CatalogRow] = {}
        for row in parsed:
            first_row.setdefault(row.course.code, row)
        # Courses first without prerequisites, so rows may name courses defined further down.
        for code, row in first_row.items():
            bare = row.course.model_copy(update={"prerequisite_codes": []})
            if code in courses:
                patch = CoursePatch(**bare.model_dump(exclude={"code", "prerequisite_codes"}))
                await write_row(
                    report, row.number, catalog_store.update_course(conn, courses[code], patch)
                )
            else:
                course_id = await write_row(
                    report, row.number, catalog_store.create_course(conn, bare)
                )
                if course_id is not None:
                    courses[code] = course_id
        for code, row in first_row.items():
            if code in courses and row.prerequisites_given:
                patch = CoursePatch(prerequisite_codes=row.course.prerequisite_codes)
                await write_row(
                    report, row.number, catalog_store.update_course(conn, courses[code], patch)
                )
        return courses

    async def _edit_section(
        self, conn: AsyncConnection, section_id: int, patch: SectionPatch
    ) -> None:
        await catalog_store.update_section(conn, section_id, patch)
        await self.enrollment.fill_seats_in(conn, section_id, self.actor_id)
