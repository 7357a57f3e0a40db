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
async def create_term(body: TermIn, user: Admin, catalog: Catalog) -> TermOut:
    return await catalog.create_term(body, user.user_id)


@router.patch("/terms/{term_id}", response_model=TermOut)
async def update_term(term_id: IdPath, body: TermPatch, user: Admin, catalog: Catalog) -> TermOut:
    return await catalog.update_term(term_id, body, user.user_id)


@router.delete("/terms/{term_id}", status_code=204)
async def delete_term(term_id: IdPath, user: Admin, registrar: Registrar) -> Response:
    await registrar.delete_term(term_id, user.user_id)
    return Response(status_code=204)


@router.post("/departments", response_model=DepartmentOut, status_code=201)
async def create_department(body: DepartmentIn, user: Admin, catalog: Catalog) -> DepartmentOut:
    return await catalog.create_department(body, user.user_id)


@router.get("/courses", response_model=list[CourseOut])
async def list_courses(_: Admin, catalog: Catalog) -> list[CourseOut]:
    return await catalog.courses()


@router.post("/courses", response_model=CourseOut, status_code=201)
async def create_course(body: CourseIn, user: Admin, catalog: Catalog) -> CourseOut:
    return await catalog.create_course(body, user.user_id)


@router.patch("/courses/{course_id}", response_model=CourseOut)
async def update_course(
    course_id: IdPath, body: CoursePatch, user: Admin, catalog: Catalog
) -> CourseOut:
    return await catalog.update_course(course_id, body, user.user_id)


@router.delete("/courses/{course_id}", status_code=204)
async def delete_course(course_id: IdPath, user: Admin, catalog: Catalog) -> Response:
    await catalog.delete_course(course_id, user.user_id)
    return Response(status_code=204)


@router.post("/sections", response_model=SectionOut, status_code=201)
async def create_section(body: SectionIn, user: Admin, catalog: Catalog) -> SectionOut:
    return await catalog.create_section(body, user.user_id)


@router.patch("/sections/{section_id}", response_model=SectionOut)
async def update_section(
    section_id: SectionIdPath, body: SectionPatch, user: Admin, registrar: Registrar
) -> SectionOut:
    """Edit a section. Raising capacity (or reopening) promotes the waitlist at once."""
    return await registrar.update_section(section_id, body, user.user_id)


@router.delete("/sections/{section_id}", status_code=204)
async def delete_section(section_id: SectionIdPath, user: Admin, catalog: Catalog) -> Response:
    await catalog.delete_section(section_id, user.user_id)
    return Response(status_code=204)
