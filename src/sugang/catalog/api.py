"""Catalog reads for everyone: the current term, departments, section search.
(The registrar's edits are under /api/v1/admin: sugang.registrar.api.catalog.)"""

from typing import Annotated

from fastapi import APIRouter, Query

from sugang.auth.deps import CurrentUser
from sugang.catalog.deps import Catalog
from sugang.catalog.schemas import DepartmentOut, SectionOut, SectionPage, TermOut
from sugang.http.deps import MAX_ID, IdPath, SectionIdPath

router = APIRouter(prefix="/api/v1", tags=["catalog"])

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


@router.get("/terms/current", response_model=TermOut)
async def current_term(catalog: Catalog) -> TermOut:
    """The term registration is about, with its basket, year-group and add/drop windows."""
    return await catalog.current_term()


@router.get("/terms/{term_id}", response_model=TermOut)
async def get_term(term_id: IdPath, catalog: Catalog) -> TermOut:
    return await catalog.term(term_id)


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(catalog: Catalog) -> list[DepartmentOut]:
    return await catalog.departments()


@router.get("/sections", response_model=SectionPage)
async def search_sections(
    _: CurrentUser,
    catalog: Catalog,
    q: Annotated[str | None, Query(max_length=100, description="code, title or professor")] = None,
    department: Annotated[str | None, Query(max_length=16)] = None,
    term_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    has_seats: bool = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> SectionPage:
    """Sections of the current term (or `term_id`), with seats left and meeting times."""
    return await catalog.search(
        term_id=term_id,
        q=q,
        department=department,
        has_seats=has_seats,
        page=page,
        page_size=page_size,
    )


@router.get("/sections/{section_id}", response_model=SectionOut)
async def get_section(section_id: SectionIdPath, _: CurrentUser, catalog: Catalog) -> SectionOut:
    return await catalog.section(section_id)
