"""The catalog as handlers and commands use it: reads for everyone, the registrar's edits.

Edits that reach past the catalog (a section edit that hands seats to its waitlist, deleting a
term that may hold enrollments) are the registrar's flows (sugang.registrar.service)."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.catalog import reads, store
from sugang.catalog.schemas import (
    CourseIn,
    CourseOut,
    CoursePatch,
    DepartmentIn,
    DepartmentOut,
    SectionIn,
    SectionOut,
    SectionPage,
    TermIn,
    TermOut,
    TermPatch,
)
from sugang.clock import Clock, utc_now
from sugang.db import Database

_WAITLISTED = text(
    "SELECT student_id FROM waitlist_entries WHERE section_id = :section_id ORDER BY id"
)


class CatalogService:
    """Every edit is audited with the registrar who made it, in its own transaction."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    async def _audit(
        self, conn: AsyncConnection, action: str, actor_id: int | None, **detail: Any
    ) -> None:
        section_id = detail.get("section_id")
        await audit.record(
            conn, self.clock(), action, actor_id=actor_id, section_id=section_id, detail=detail
        )

    async def current_term(self) -> TermOut:
        async with self.db.transaction(write=False) as conn:
            return await reads.current_term_view(conn)

    async def term(self, term_id: int) -> TermOut:
        async with self.db.transaction(write=False) as conn:
            return await reads.term_view(conn, term_id)

    async def term_id_of(self, code_or_id: str) -> int:
        async with self.db.transaction(write=False) as conn:
            return await reads.term_id_of(conn, code_or_id)

    async def terms(self) -> list[TermOut]:
        async with self.db.transaction(write=False) as conn:
            return await reads.term_views(conn)

    async def departments(self) -> list[DepartmentOut]:
        async with self.db.transaction(write=False) as conn:
            return await reads.department_views(conn)

    async def courses(self) -> list[CourseOut]:
        async with self.db.transaction(write=False) as conn:
            return await reads.course_views(conn)

    async def search(
        self,
        *,
        term_id: int | None,
        q: str | None,
        department: str | None,
        has_seats: bool,
        page: int,
        page_size: int,
    ) -> SectionPage:
        """Sections of the term (the current one if not given)."""
        async with self.db.transaction(write=False) as conn:
            return await reads.search_sections(
                conn,
                term_id=term_id or await reads.current_term_id(conn),
                q=q,
                department=department,
                has_seats=has_seats,
                page=page,
                page_size=page_size,
            )

    async def section(self, section_id: int) -> SectionOut:
        async with self.db.transaction(write=False) as conn:
            return await reads.section_view(conn, section_id)

    async def create_term(self, data: TermIn, actor_id: int | None = None) -> TermOut:
        async def work(conn: AsyncConnection) -> TermOut:
            term_id = await store.create_term(conn, data)
            await self._audit(conn, "create_term", actor_id, term_id=term_id, code=data.code)
            return await reads.term_view(conn, term_id)

        return await self.db.run(work)

    async def update_term(
        self, term_id: int, patch: TermPatch, actor_id: int | None = None
    ) -> TermOut:
        async def work(conn: AsyncConnection) -> TermOut:
            await store.update_term(conn, term_id, patch)
            changes = patch.model_dump(mode="json", exclude_unset=True)
            await self._audit(conn, "update_term", actor_id, term_id=term_id, changes=changes)
            return await reads.term_view(conn, term_id)

        return await self.db.run(work)

    async def create_department(
        self, data: DepartmentIn, actor_id: int | None = None
    ) -> DepartmentOut:
        async def work(conn: AsyncConnection) -> int:
            department_id = await store.create_department(conn, data)
            await self._audit(conn, "create_department", actor_id, code=data.code)
            return department_id

        return DepartmentOut(id=await self.db.run(work), **data.model_dump())

    async def create_course(self, data: CourseIn, actor_id: int | None = None) -> CourseOut:
        async def work(conn: AsyncConnection) -> CourseOut:
            course_id = await store.create_course(conn, data)
            await self._audit(conn, "create_course", actor_id, course_id=course_id, code=data.code)
            return (await reads.course_views(conn, course_id))[0]

        return await self.db.run(work)

    async def update_course(
        self, course_id: int, patch: CoursePatch, actor_id: int | None = None
    ) -> CourseOut:
        async def work(conn: AsyncConnection) -> CourseOut:
            await store.update_course(conn, course_id, patch)
            changes = patch.model_dump(mode="json", exclude_unset=True)
            await self._audit(conn, "update_course", actor_id, course_id=course_id, changes=changes)
            return (await reads.course_views(conn, course_id))[0]

        return await self.db.run(work)

    async def delete_course(self, course_id: int, actor_id: int | None = None) -> None:
        async def work(conn: AsyncConnection) -> None:
            await store.delete_course(conn, course_id)
            await self._audit(conn, "delete_course", actor_id, course_id=course_id)

        await self.db.run(work)

    async def create_section(self, data: SectionIn, actor_id: int | None = None) -> SectionOut:
        async def work(conn: AsyncConnection) -> SectionOut:
            section_id = await store.create_section(conn, data)
            await self._audit(conn, "create_section", actor_id, section_id=section_id)
            return await reads.section_view(conn, section_id)

        return await self.db.run(work)

    async def delete_section(self, section_id: int, actor_id: int | None = None) -> None:
        """Delete a section and its waitlist; the audit row keeps who was waiting."""

        async def work(conn: AsyncConnection) -> None:
            waiting = list(await conn.scalars(_WAITLISTED, {"section_id": section_id}))
            await store.delete_section(conn, section_id)
            await self._audit(
                conn, "delete_section", actor_id, section_id=section_id, waitlisted=waiting
            )

        await self.db.run(work)
