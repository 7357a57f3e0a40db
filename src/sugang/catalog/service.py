"""The catalog as handlers and commands use it: reads for everyone, the registrar's edits.

Edits that reach past the catalog (a section edit that hands seats to its waitlist, deleting a
term that may hold enrollments) are the registrar's flows (sugang.registrar.service)."""

from sqlalchemy.ext.asyncio import AsyncConnection

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
from sugang.db import Database


class CatalogService:
    def __init__(self, db: Database) -> None:
        self.db = db

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

    async def create_term(self, data: TermIn) -> TermOut:
        async def work(conn: AsyncConnection) -> TermOut:
            return await reads.term_view(conn, await store.create_term(conn, data))

        return await self.db.run(work)

    async def update_term(self, term_id: int, patch: TermPatch) -> TermOut:
        async def work(conn: AsyncConnection) -> TermOut:
            await store.update_term(conn, term_id, patch)
            return await reads.term_view(conn, term_id)

        return await self.db.run(work)

    async def create_department(self, data: DepartmentIn) -> DepartmentOut:
        department_id = await self.db.run(lambda conn: store.create_department(conn, data))
        return DepartmentOut(id=department_id, **data.model_dump())

    async def create_course(self, data: CourseIn) -> CourseOut:
        async def work(conn: AsyncConnection) -> CourseOut:
            return (await reads.course_views(conn, await store.create_course(conn, data)))[0]

        return await self.db.run(work)

    async def update_course(self, course_id: int, patch: CoursePatch) -> CourseOut:
        async def work(conn: AsyncConnection) -> CourseOut:
            await store.update_course(conn, course_id, patch)
            return (await reads.course_views(conn, course_id))[0]

        return await self.db.run(work)

    async def delete_course(self, course_id: int) -> None:
        await self.db.run(lambda conn: store.delete_course(conn, course_id))

    async def create_section(self, data: SectionIn) -> SectionOut:
        async def work(conn: AsyncConnection) -> SectionOut:
            return await reads.section_view(conn, await store.create_section(conn, data))

        return await self.db.run(work)

    async def delete_section(self, section_id: int) -> None:
        await self.db.run(lambda conn: store.delete_section(conn, section_id))
