"""/api/v1/admin: CSV import, auto-enrollment and the audit log; and the rosters staff read."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from sugang.auth.deps import Admin, Staff
from sugang.catalog.schemas import SectionOut
from sugang.errors import InvalidRequest
from sugang.http.deps import MAX_ID, IdPath, SectionIdPath, SettingsDep
from sugang.registrar import rosters
from sugang.registrar.deps import Registrar
from sugang.registrar.imports.rows import ImportKind, decode_csv
from sugang.registrar.schemas import AuditOut, ImportOut, Roster

router = APIRouter(prefix="/api/v1", tags=["registrar"])

# The form is read in the handler, once the caller is known to be a registrar: declared as a
# parameter, FastAPI would parse it (into temporary files) before checking the token.
_CSV_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "contentMediaType": "text/csv", "title": "File"}
                },
                "required": ["file"],
            }
        }
    },
}


@router.post(
    "/admin/import/{kind}", response_model=ImportOut, openapi_extra={"requestBody": _CSV_FORM}
)
async def import_file(
    kind: ImportKind, request: Request, user: Admin, registrar: Registrar, settings: SettingsDep
) -> ImportOut:
    """Import `departments`, `catalog` or `students` from CSV (the form field `file`, at most
    SUGANG_MAX_IMPORT_BYTES and SUGANG_MAX_IMPORT_ROWS). All rows or none: on any bad row the
    answer is 422 IMPORT_INVALID with every row's errors, and nothing is written."""
    async with request.form(max_files=1, max_fields=5) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidRequest(reason="the CSV file goes in the form field `file`")
        text = decode_csv(await file.read())
    if text.count("\n") > settings.max_import_rows:
        raise InvalidRequest(reason=f"the file has more than {settings.max_import_rows} rows")
    report = await registrar.import_csv(kind, text, user.user_id)
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


@router.get(
    "/sections/{section_id}/roster",
    response_model=Roster,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
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
