"""The registrar's flows that reach across domains: a section edit that hands new seats to the
waitlist, deleting a term or a student, CSV imports, auto-enrollment, the audit log, and the
rosters professors and the registrar read."""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.auth.tokens import Principal
from sugang.catalog import reads as catalog_reads
from sugang.catalog import store as catalog_store
from sugang.catalog.schemas import SectionOut, SectionPatch
from sugang.clock import Clock
from sugang.db import Database
from sugang.enrollment import reads as enrollment_reads
from sugang.enrollment.service import EnrollmentService
from sugang.errors import Conflict, Forbidden, ImportInvalid
from sugang.registrar import rosters
from sugang.registrar.auto_enroll import AutoEnrollReport, auto_enroll
from sugang.registrar.imports import run_import
from sugang.registrar.imports.catalog import CatalogImport
from sugang.registrar.imports.departments import DepartmentsImport
from sugang.registrar.imports.rows import ImportKind, ImportReport
from sugang.registrar.imports.students import StudentsImport
from sugang.registrar.schemas import AuditOut, Roster
from sugang.students import store as students_store

# The columns of each kind of CSV, in order (the CLI's help and the docs show them).
IMPORT_COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    "departments": DepartmentsImport.columns,
    "catalog": CatalogImport.columns,
    "students": StudentsImport.columns,
}


def _term_has_enrollments() -> Conflict:
    return Conflict(
        reason="the term has enrollments",
        reason_ko="수강신청 내역이 있는 학기는 삭제할 수 없습니다",
    )


class RegistrarService:
    def __init__(self, db: Database, clock: Clock, enrollment: EnrollmentService) -> None:
        self.db = db
        self.clock = clock
        self.enrollment = enrollment

    async def update_section(
        self, section_id: int, patch: SectionPatch, actor_id: int | None
    ) -> SectionOut:
        """Edit a section; more seats (or a reopening) go to its waitlist at once."""

        async def work(conn: AsyncConnection) -> SectionOut:
            await catalog_store.update_section(conn, section_id, patch)
            await audit.record(
                conn,
                self.clock(),
                "update_section",
                actor_id=actor_id,
                section_id=section_id,
                detail={"changes": patch.model_dump(mode="json", exclude_unset=True)},
            )
            await self.enrollment.fill_seats_in(conn, section_id, actor_id)
            return await catalog_reads.section_view(conn, section_id)

        updated = await self.db.run(work)
        await self.enrollment.clear_full_flags([section_id])
        return updated

    async def delete_term(self, term_id: int, actor_id: int | None = None) -> None:
        """Delete a term that holds no enrollments, with its windows and sections. The check
        answers the common case; the foreign key (RESTRICT) refuses a term whose enrollment
        committed after the check."""

        async def work(conn: AsyncConnection) -> None:
            if await enrollment_reads.term_has_enrollments(conn, term_id):
                raise _term_has_enrollments()
            await catalog_store.delete_term(conn, term_id)
            await audit.record(
                conn, self.clock(), "delete_term", actor_id=actor_id, detail={"term_id": term_id}
            )

        try:
            await self.db.run(work)
        except IntegrityError as error:
            raise _term_has_enrollments() from error

    async def delete_student(self, student_id: int, actor_id: int | None) -> None:
        """Delete a student; their seats are released through the normal drop (waitlists
        move up)."""

        async def work(conn: AsyncConnection) -> list[int]:
            dropped = await self.enrollment.drop_everything_in(conn, student_id, actor_id)
            await students_store.delete_student(conn, student_id, self.clock)
            await audit.record(
                conn,
                self.clock(),
                "delete_student",
                actor_id=actor_id,
                student_id=student_id,
                detail={"dropped_sections": dropped},
            )
            return dropped

        await self.enrollment.clear_full_flags(await self.db.run(work))

    async def import_csv(self, kind: ImportKind, text: str, actor_id: int | None) -> ImportReport:
        """All rows or none (IMPORT_INVALID names every bad row)."""

        async def audited(conn: AsyncConnection, report: ImportReport) -> None:
            await audit.record(
                conn, self.clock(), "import", actor_id=actor_id, detail=report.as_dict()
            )

        try:
            if kind == "departments":
                report = await run_import(self.db, kind, DepartmentsImport(), text, audited)
            elif kind == "catalog":
                catalog = CatalogImport(self.enrollment, actor_id)
                report = await run_import(self.db, kind, catalog, text, audited)
            else:
                students = StudentsImport(self.clock)
                report = await run_import(self.db, kind, students, text, audited)
        except ImportInvalid as refusal:  # nothing written; the attempt is audited still
            async with self.db.transaction() as conn:
                await audit.record(
                    conn,
                    self.clock(),
                    "import",
                    outcome="refused",
                    actor_id=actor_id,
                    detail={"kind": kind, "error_count": refusal.detail.get("error_count")},
                )
            raise
        await self.enrollment.clear_full_flags(report.sections_changed)
        return report

    async def auto_enroll(
        self,
        term_id: int,
        actor_id: int | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AutoEnrollReport:
        """Enroll every basket entry of the sections whose basket demand fits their seats."""
        async with self.db.transaction(write=False) as conn:
            await catalog_reads.term_view(conn, term_id)  # NotFound if there is no such term
        return await auto_enroll(
            self.db, self.enrollment, term_id, actor_id=actor_id, progress=progress
        )

    async def audit_log(
        self, *, student_id: int | None, section_id: int | None, limit: int
    ) -> list[AuditOut]:
        async with self.db.transaction(write=False) as conn:
            rows = await audit.entries(
                conn, student_id=student_id, section_id=section_id, limit=limit
            )
        return [AuditOut.model_validate(r._mapping) for r in rows]

    async def sections_taught(self, user_id: int) -> list[SectionOut]:
        async with self.db.transaction(write=False) as conn:
            return await catalog_reads.sections_taught(conn, user_id)

    async def roster(self, section_id: int, reader: Principal) -> Roster:
        """Professors read the rosters of their own sections; the registrar reads every one."""
        async with self.db.transaction(write=False) as conn:
            instructor_id = await catalog_reads.instructor_of(conn, section_id)
            section = await catalog_reads.section_view(conn, section_id)
            if reader.role != "admin" and instructor_id != reader.user_id:
                raise Forbidden()
            return Roster(
                section=section,
                enrolled=await rosters.enrolled(conn, section_id),
                waitlist=await rosters.waitlist(conn, section_id),
            )
