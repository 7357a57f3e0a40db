"""/api/v1/admin: terms, departments, courses and sections."""

from fastapi import APIRouter, Response

from sugang.auth.deps import Admin
from sugang.catalog.deps import Catalog
from sugang.catalog.schemas import (
    CourseIn,
    CourseOut,
    CoursePatch,
    DepartmentIn,
    DepartmentOut,
    SectionIn,
    SectionOut,
    SectionPatch,
    TermIn,
    TermOut,
    TermPatch,
)
from sugang.http.deps import IdPath, SectionIdPath
from sugang.registrar.deps import Registrar

router = APIRouter(prefix="/api/v1/admin", tags=["registrar"])


@router.get("/terms", response_model=list[TermOut])
async def list_terms(_: Admin, catalog: Catalog) -> list[TermOut]:
    return await catalog.terms()


@router.post("/terms", response_model=TermOut, status_code=201)
async def create_term(body: TermIn, _: Admin, catalog: Catalog) -> TermOut:
    return await catalog.create_term(body)


@router.patch("/terms/{term_id}", response_model=TermOut)
async def update_term(term_id: IdPath, body: TermPatch, _: Admin, catalog: Catalog) -> TermOut:
    return await catalog.update_term(term_id, body)


@router.delete("/terms/{term_id}", status_code=204)
async def delete_term(term_id: IdPath, _: Admin, registrar: Registrar) -> Response:
    await registrar.delete_term(term_id)
    return Response(status_code=204)


@router.post("/departments", response_model=DepartmentOut, status_code=201)
async def create_department(body: DepartmentIn, _: Admin, catalog: Catalog) -> DepartmentOut:
    return await catalog.create_department(body)


@router.get("/courses", response_model=list[CourseOut])
async def list_courses(_: Admin, catalog: Catalog) -> list[CourseOut]:
    return await catalog.courses()


@router.post("/courses", response_model=CourseOut, status_code=201)
async def create_course(body: CourseIn, _: Admin, catalog: Catalog) -> CourseOut:
    return await catalog.create_course(body)


@router.patch("/courses/{course_id}", response_model=CourseOut)
async def update_course(
    course_id: IdPath, body: CoursePatch, _: Admin, catalog: Catalog
) -> CourseOut:
    return await catalog.update_course(course_id, body)


@router.delete("/courses/{course_id}", status_code=204)
async def delete_course(course_id: IdPath, _: Admin, catalog: Catalog) -> Response:
    await catalog.delete_course(course_id)
    return Response(status_code=204)


@router.post("/sections", response_model=SectionOut, status_code=201)
async def create_section(body: SectionIn, _: Admin, catalog: Catalog) -> SectionOut:
    return await catalog.create_section(body)


@router.patch("/sections/{section_id}", response_model=SectionOut)
async def update_section(
    section_id: SectionIdPath, body: SectionPatch, user: Admin, registrar: Registrar
) -> SectionOut:
    """Edit a section. Raising capacity (or reopening) promotes the waitlist at once."""
    return await registrar.update_section(section_id, body, user.user_id)


@router.delete("/sections/{section_id}", status_code=204)
async def delete_section(section_id: SectionIdPath, _: Admin, catalog: Catalog) -> Response:
    await catalog.delete_section(section_id)
    return Response(status_code=204)
