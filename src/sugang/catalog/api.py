"""Catalog reads for everyone who is logged in, and registrar CRUD under /api/v1/admin."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog import reads
from sugang.catalog import service as catalog
from sugang.catalog.models import Course, Department, Term, course_prerequisites
from sugang.catalog.schemas import (
    CourseIn,
    CourseOut,
    CoursePatch,
    DepartmentIn,
    DepartmentOut,
    SectionIn,
    SectionOut,
    SectionPage,
    SectionPatch,
    TermIn,
    TermOut,
    TermPatch,
)
from sugang.deps import MAX_ID, Admin, CurrentUser, IdPath, SectionIdPath, ServicesDep
from sugang.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["catalog"])
admin = APIRouter(prefix="/api/v1/admin", tags=["registrar"])

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


@router.get("/terms/current", response_model=TermOut)
async def current_term(services: ServicesDep) -> TermOut:
    """The term registration is about, with its basket, year-group and add/drop windows."""
    async with services.db.transaction(write=False) as conn:
        return await reads.current_term_view(conn)


@router.get("/terms/{term_id}", response_model=TermOut)
async def get_term(term_id: IdPath, services: ServicesDep) -> TermOut:
    async with services.db.transaction(write=False) as conn:
        return await reads.term_view(conn, term_id)


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(services: ServicesDep) -> list[DepartmentOut]:
    async with services.db.transaction(write=False) as conn:
        rows = await conn.execute(select(Department).order_by(Department.code))
        return [DepartmentOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/sections", response_model=SectionPage)
async def search_sections(
    _: CurrentUser,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=100, description="code, title or professor")] = None,
    department: Annotated[str | None, Query(max_length=16)] = None,
    term_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    has_seats: bool = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> SectionPage:
    """Sections of the current term (or `term_id`), with seats left and meeting times."""
    async with services.db.transaction(write=False) as conn:
        return await reads.search_sections(
            conn,
            term_id=term_id or await reads.current_term_id(conn),
            q=q,
            department=department,
            has_seats=has_seats,
            page=page,
            page_size=page_size,
        )


@router.get("/sections/{section_id}", response_model=SectionOut)
async def get_section(
    section_id: SectionIdPath, _: CurrentUser, services: ServicesDep
) -> SectionOut:
    async with services.db.transaction(write=False) as conn:
        return await reads.section_view(conn, section_id)


# --- registrar --------------------------------------------------------------------------


@admin.get("/terms", response_model=list[TermOut])
async def list_terms(_: Admin, services: ServicesDep) -> list[TermOut]:
    async with services.db.transaction(write=False) as conn:
        ids = (await conn.scalars(select(Term.id).order_by(Term.id.desc()))).all()
        return [await reads.term_view(conn, term_id) for term_id in ids]


@admin.post("/terms", response_model=TermOut, status_code=201)
async def create_term(body: TermIn, _: Admin, services: ServicesDep) -> TermOut:
    async def work(conn: AsyncConnection) -> TermOut:
        return await reads.term_view(conn, await catalog.create_term(conn, body))

    return await services.db.run(work)


@admin.patch("/terms/{term_id}", response_model=TermOut)
async def update_term(term_id: IdPath, body: TermPatch, _: Admin, services: ServicesDep) -> TermOut:
    async def work(conn: AsyncConnection) -> TermOut:
        await catalog.update_term(conn, term_id, body)
        return await reads.term_view(conn, term_id)

    return await services.db.run(work)


@admin.delete("/terms/{term_id}", status_code=204)
async def delete_term(term_id: IdPath, _: Admin, services: ServicesDep) -> Response:
    await services.db.run(lambda conn: catalog.delete_term(conn, term_id))
    return Response(status_code=204)


@admin.post("/departments", response_model=DepartmentOut, status_code=201)
async def create_department(body: DepartmentIn, _: Admin, services: ServicesDep) -> DepartmentOut:
    department_id = await services.db.run(lambda conn: catalog.create_department(conn, body))
    return DepartmentOut(id=department_id, **body.model_dump())


@admin.get("/courses", response_model=list[CourseOut])
async def list_courses(_: Admin, services: ServicesDep) -> list[CourseOut]:
    async with services.db.transaction(write=False) as conn:
        return await _course_views(conn)


@admin.post("/courses", response_model=CourseOut, status_code=201)
async def create_course(body: CourseIn, _: Admin, services: ServicesDep) -> CourseOut:
    async def work(conn: AsyncConnection) -> CourseOut:
        return (await _course_views(conn, await catalog.create_course(conn, body)))[0]

    return await services.db.run(work)


@admin.patch("/courses/{course_id}", response_model=CourseOut)
async def update_course(
    course_id: IdPath, body: CoursePatch, _: Admin, services: ServicesDep
) -> CourseOut:
    async def work(conn: AsyncConnection) -> CourseOut:
        await catalog.update_course(conn, course_id, body)
        return (await _course_views(conn, course_id))[0]

    return await services.db.run(work)


@admin.delete("/courses/{course_id}", status_code=204)
async def delete_course(course_id: IdPath, _: Admin, services: ServicesDep) -> Response:
    await services.db.run(lambda conn: catalog.delete_course(conn, course_id))
    return Response(status_code=204)


@admin.post("/sections", response_model=SectionOut, status_code=201)
async def create_section(body: SectionIn, _: Admin, services: ServicesDep) -> SectionOut:
    async def work(conn: AsyncConnection) -> SectionOut:
        return await reads.section_view(conn, await catalog.create_section(conn, body))

    return await services.db.run(work)


@admin.patch("/sections/{section_id}", response_model=SectionOut)
async def update_section(
    section_id: SectionIdPath, body: SectionPatch, user: Admin, services: ServicesDep
) -> SectionOut:
    """Edit a section. Raising capacity (or reopening) promotes the waitlist at once."""

    async def work(conn: AsyncConnection) -> SectionOut:
        await catalog.update_section(conn, section_id, body, services.enrollment, user.user_id)
        return await reads.section_view(conn, section_id)

    updated = await services.db.run(work)
    await services.full_sections.clear(section_id)  # capacity or status may have changed
    return updated


@admin.delete("/sections/{section_id}", status_code=204)
async def delete_section(section_id: SectionIdPath, _: Admin, services: ServicesDep) -> Response:
    await services.db.run(lambda conn: catalog.delete_section(conn, section_id))
    return Response(status_code=204)


async def _course_views(conn: AsyncConnection, course_id: int | None = None) -> list[CourseOut]:
    query = (
        select(
            Course.id,
            Course.code,
            Course.title_ko,
            Course.title_en,
            Course.credits,
            Department.code.label("department_code"),
        )
        .join(Department, Department.id == Course.department_id)
        .order_by(Course.code)
    )
    if course_id is not None:
        query = query.where(Course.id == course_id)
    rows = (await conn.execute(query)).all()
    if course_id is not None and not rows:
        raise NotFound(what="course", what_ko="과목", course_id=course_id)
    prerequisite = Course.__table__.alias("prerequisite")
    prerequisites: dict[int, list[str]] = {}
    for p in await conn.execute(
        select(course_prerequisites.c.course_id, prerequisite.c.code)
        .join(prerequisite, prerequisite.c.id == course_prerequisites.c.prerequisite_id)
        .order_by(prerequisite.c.code)
    ):
        prerequisites.setdefault(p.course_id, []).append(p.code)
    return [CourseOut(**r._mapping, prerequisite_codes=prerequisites.get(r.id, [])) for r in rows]
