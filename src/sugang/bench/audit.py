"""After a load: check the database against what the clients were told.

- no section has more enrollment rows than seats, and every counter equals its rows;
- no student holds two sections of one course in a term;
- every 201 a client saw is an enrollment row (no lost acknowledgement);
- every enrollment row was answered 201 to some client (no phantom enrollment).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_SECTIONS = text(
    """
    SELECT s.id, s.capacity, s.enrolled, count(e.id) AS rows
    FROM sections s LEFT JOIN enrollments e ON e.section_id = s.id
    WHERE s.term_id = :term_id
    GROUP BY s.id, s.capacity, s.enrolled
    """
)
_DUPLICATES = text(
    """
    SELECT student_id, course_id, count(*) AS n FROM enrollments
    WHERE term_id = :term_id GROUP BY student_id, course_id HAVING count(*) > 1
    """
)
_ROWS = text(
    """
    SELECT e.id, u.username, e.section_id FROM enrollments e JOIN users u ON u.id = e.student_id
    WHERE e.term_id = :term_id
    """
)


@dataclass
class AuditReport:
    oversold: dict[int, int] = field(default_factory=dict)  # section -> rows over capacity
    counter_mismatches: dict[int, tuple[int, int]] = field(default_factory=dict)
    duplicates: int = 0
    lost_acknowledgements: list[tuple[str, int]] = field(default_factory=list)
    unacknowledged_rows: list[tuple[str, int]] = field(default_factory=list)
    rows_per_section: Counter[int] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not (
            self.oversold
            or self.counter_mismatches
            or self.duplicates
            or self.lost_acknowledgements
            or self.unacknowledged_rows
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "oversold_seats": sum(self.oversold.values()),
            "counter_mismatches": len(self.counter_mismatches),
            "duplicate_enrollments": self.duplicates,
            "lost_acknowledgements": len(self.lost_acknowledgements),
            "unacknowledged_rows": len(self.unacknowledged_rows),
            "enrollments": sum(self.rows_per_section.values()),
        }


async def audit_term(
    conn: AsyncConnection,
    term_id: int,
    acknowledged: Iterable[tuple[str, int]] = (),
    *,
    acknowledged_ids: Iterable[int] | None = None,
) -> AuditReport:
    """`acknowledged`: (student number, section id) for every 201 the clients received; or
    `acknowledged_ids`, the enrollment ids those 201s carried (a client that cannot tell which
    request an answer belongs to, as wrk)."""
    report = AuditReport()
    for r in await conn.execute(_SECTIONS, {"term_id": term_id}):
        report.rows_per_section[r.id] = r.rows
        if r.rows > r.capacity:
            report.oversold[r.id] = r.rows - r.capacity
        if r.rows != r.enrolled:
            report.counter_mismatches[r.id] = (r.enrolled, r.rows)
    report.duplicates = len((await conn.execute(_DUPLICATES, {"term_id": term_id})).all())
    found = (await conn.execute(_ROWS, {"term_id": term_id})).all()
    if acknowledged_ids is None:
        rows, told = {(r.username, r.section_id) for r in found}, set(acknowledged)
    else:
        rows = {("enrollment", r.id) for r in found}
        told = {("enrollment", i) for i in acknowledged_ids}
    report.lost_acknowledgements = sorted(told - rows)
    report.unacknowledged_rows = sorted(rows - told)
    return report
