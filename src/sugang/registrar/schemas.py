"""Response shapes for imports, the audit log and rosters."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from sugang.catalog.schemas import SectionOut


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
