"""/api/v1/admin: CSV import, auto-enrollment and the audit log; and the rosters staff read."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response

from sugang.auth.deps import Admin, Staff
from sugang.catalog.schemas import SectionOut
from sugang.errors import InvalidRequest
from sugang.http.deps import MAX_ID, IdPath, SectionIdPath
from sugang.registrar import rosters
from sugang.registrar.deps import Registrar
from sugang.registrar.imports.rows import ImportKind, decode_csv
from sugang.registrar.schemas import AuditOut, ImportOut, Roster

router = APIRouter(prefix="/api/v1", tags=["registrar"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.post("/admin/import/{kind}", response_model=ImportOut)
async def import_file(
    kind: ImportKind, file: UploadFile, user: Admin, registrar: Registrar
) -> ImportOut:
    """Import `departments`, `catalog` or `students` from CSV. All rows or none: on any bad
    row the answer is 422 IMPORT_INVALID with every row's errors, and nothing is written."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidRequest(reason=f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    report = await registrar.import_csv(kind, decode_csv(data), user.user_id)
    return ImportOut(**report.as_dict())


@router.post("/admin/terms/{term_id}/auto-enroll")
async def run_auto_enroll(term_id: IdPath, user: Admin, registrar: Registrar) -> dict[str, Any]:
    """Enroll every basket entry of the sections whose basket demand fits their seats."""
    return (await registrar.auto_enroll(term_id, user.user_id)).as_dict()


@router.get("/admin/audit", response_model=list[AuditOut])
async def audit_log(
    _: Admin,
    registrar: Registrar,
    student_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    section_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    return await registrar.audit_log(student_id=student_id, section_id=section_id, limit=limit)


@router.get("/professor/sections", response_model=list[SectionOut])
async def my_sections(user: Staff, registrar: Registrar) -> list[SectionOut]:
    """The sections the logged-in professor teaches in the current term."""
    return await registrar.sections_taught(user.user_id)


@router.get("/sections/{section_id}/roster", response_model=Roster)
async def roster(
    section_id: SectionIdPath,
    user: Staff,
    registrar: Registrar,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Enrolled students and the waitlist in order; `?format=csv` downloads a spreadsheet.
    Professors see their own sections; registrar staff see every section."""
    found = await registrar.roster(section_id, user)
    if format != "csv":
        return found
    filename, text = rosters.as_csv(found)
    # A BOM so that spreadsheet programs open the Korean names as UTF-8.
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
