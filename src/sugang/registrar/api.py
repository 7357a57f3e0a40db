"""Registrar operations (CSV import, auto-enroll, audit log) and professors' rosters."""

import csv
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select, text

from sugang.base import UTCDateTime
from sugang.catalog import reads
from sugang.catalog.models import Section
from sugang.catalog.schemas import SectionOut
from sugang.deps import Admin, IdPath, SectionIdPath, ServicesDep, Staff
from sugang.enrollment.models import AuditEntry
from sugang.errors import Forbidden, InvalidRequest
from sugang.registrar.auto_enroll import auto_enroll
from sugang.registrar.imports import ImportKind, decode_csv, import_csv

router = APIRouter(prefix="/api/v1", tags=["registrar"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportOut(BaseModel):
    kind: str
    rows: int
    created: int
    updated: int


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    student_id: int | None
    section_id: int | None
    action: str
    outcome: str
    detail: dict[str, Any] | None


class RosterEntry(BaseModel):
    student_id: int
    student_number: str
    name: str
    year: int
    department_code: str | None
    since: datetime
    source: str | None = None
    position: int | None = None


class Roster(BaseModel):
    section: SectionOut
    enrolled: list[RosterEntry]
    waitlist: list[RosterEntry]


@router.post("/admin/import/{kind}", response_model=ImportOut)
async def import_file(
    kind: ImportKind, file: UploadFile, user: Admin, services: ServicesDep
) -> ImportOut:
    """Import `departments`, `catalog` or `students` from CSV. All rows or none: on any bad
    row the answer is 422 IMPORT_INVALID with every row's errors, and nothing is written."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidRequest(reason=f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    report = await import_csv(
        services.db,
        services.enrollment,
        kind,
        decode_csv(data),
        clock=services.clock,
        actor_id=user.user_id,
    )
    return ImportOut(**report.as_dict())


@router.post("/admin/terms/{term_id}/auto-enroll")
async def run_auto_enroll(term_id: IdPath, user: Admin, services: ServicesDep) -> dict[str, Any]:
    """Enroll every basket entry of the sections whose basket demand fits their seats."""
    async with services.db.transaction(write=False) as conn:
        await reads.term_view(conn, term_id)
    report = await auto_enroll(services.db, services.enrollment, term_id, actor_id=user.user_id)
    return report.as_dict()


@router.get("/admin/audit", response_model=list[AuditOut])
async def audit_log(
    _: Admin,
    services: ServicesDep,
    student_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    section_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if student_id is not None:
        query = query.where(AuditEntry.student_id == student_id)
    if section_id is not None:
        query = query.where(AuditEntry.section_id == section_id)
    async with services.db.transaction(write=False) as conn:
        rows = await conn.execute(query)
        return [AuditOut.model_validate(r._mapping) for r in rows]


@router.get("/professor/sections", response_model=list[SectionOut])
async def my_sections(user: Staff, services: ServicesDep) -> list[SectionOut]:
    """The sections the logged-in professor teaches in the current term."""
    async with services.db.transaction(write=False) as conn:
        term_id = await reads.current_term_id(conn)
        ids = (
            await conn.scalars(
                select(Section.id)
                .where(Section.term_id == term_id, Section.instructor_id == user.user_id)
                .order_by(Section.id)
            )
        ).all()
        return await reads.section_views(conn, list(ids))


_ROSTER = text(
    """
    SELECT st.id AS student_id, u.username AS student_number, u.name, st.year,
           d.code AS department_code, e.created_at AS since, e.source
    FROM enrollments e
    JOIN students st ON st.id = e.student_id
    JOIN users u ON u.id = st.id
    LEFT JOIN departments d ON d.id = st.department_id
    WHERE e.section_id = :section_id
    ORDER BY u.username
    """
).columns(since=UTCDateTime())
_WAITLIST = text(
    """
    SELECT st.id AS student_id, u.username AS student_number, u.name, st.year,
           d.code AS department_code, w.created_at AS since
    FROM waitlist_entries w
    JOIN students st ON st.id = w.student_id
    JOIN users u ON u.id = st.id
    LEFT JOIN departments d ON d.id = st.department_id
    WHERE w.section_id = :section_id
    ORDER BY w.id
    """
).columns(since=UTCDateTime())


@router.get("/sections/{section_id}/roster", response_model=Roster)
async def roster(
    section_id: SectionIdPath,
    user: Staff,
    services: ServicesDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Enrolled students and the waitlist in order; `?format=csv` downloads a spreadsheet.
    Professors see their own sections; registrar staff see every section."""
    async with services.db.transaction(write=False) as conn:
        instructor_id = await conn.scalar(
            select(Section.instructor_id).where(Section.id == section_id)
        )
        section = await reads.section_view(conn, section_id)
        if user.role != "admin" and instructor_id != user.user_id:
            raise Forbidden()
        params = {"section_id": section_id}
        enrolled = [RosterEntry(**r._mapping) for r in await conn.execute(_ROSTER, params)]
        waitlist = [
            RosterEntry(**r._mapping, position=i)
            for i, r in enumerate(await conn.execute(_WAITLIST, params), start=1)
        ]
    if format == "csv":
        return _roster_csv(section, enrolled, waitlist)
    return Roster(section=section, enrolled=enrolled, waitlist=waitlist)


def _roster_csv(
    section: SectionOut, enrolled: list[RosterEntry], waitlist: list[RosterEntry]
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["status", "position", "student_number", "name", "year", "department", "since"])
    for status, entries in (("enrolled", enrolled), ("waitlisted", waitlist)):
        for e in entries:
            writer.writerow(
                [
                    status,
                    e.position or "",
                    e.student_number,
                    e.name,
                    e.year,
                    e.department_code or "",
                    e.since.isoformat(),
                ]
            )
    filename = f"{section.course_code}-{section.number:02d}-roster.csv"
    # A BOM so that spreadsheet programs open the Korean names as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
