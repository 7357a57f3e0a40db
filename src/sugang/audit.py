"""The audit log: append-only rows of who did what to whom, when, and the outcome.

`record` is the one writer. (The seat claim on PostgreSQL writes its audit row inside its
single statement, sugang.enrollment.seats, so that the claim and its record are one.)
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from sugang.db.types import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_student_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    student_id: Mapped[int | None] = mapped_column(Integer)
    section_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


_RECORD = text(
    """
    INSERT INTO audit_log (at, actor_id, student_id, section_id, action, outcome, detail)
    VALUES (:now, :actor_id, :student_id, :section_id, :action, :outcome, :detail)
    """
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("detail", type_=JSON()))


async def record(
    conn: AsyncConnection,
    now: datetime,
    action: str,
    *,
    outcome: str = "ok",
    actor_id: int | None,
    student_id: int | None = None,
    section_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry, in the caller's transaction (it commits with the action or not at
    all). `detail` must be JSON: values that are not are written as their text."""
    await conn.execute(
        _RECORD,
        {
            "now": now,
            "actor_id": actor_id,
            "student_id": student_id,
            "section_id": section_id,
            "action": action,
            "outcome": outcome,
            "detail": None if detail is None else _json_safe(detail),
        },
    )


async def entries(
    conn: AsyncConnection, *, student_id: int | None, section_id: int | None, limit: int
) -> list[Any]:
    """The newest entries first, for a student or a section if given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if student_id is not None:
        query = query.where(AuditEntry.student_id == student_id)
    if section_id is not None:
        query = query.where(AuditEntry.section_id == section_id)
    return list((await conn.execute(query)).all())


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | None | list | dict) else str(v)
        for k, v in detail.items()
    }
