"""Auto-enrollment from baskets: sections whose basket demand fits are filled for everyone.

Sections wanted by more students than they have seats are left for the live rush, as Korean
universities do. Each enrollment goes through the same transaction and rules as a live one
(the registration window excepted: the registrar runs this between basket and enrollment).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.db import Database
from sugang.enrollment.service import EnrollmentService
from sugang.errors import AlreadyEnrolled, SugangError

_DEMAND = text(
    """
    SELECT s.id, s.capacity - s.enrolled AS seats_left, s.status, count(b.student_id) AS demand
    FROM sections s JOIN basket_entries b ON b.section_id = s.id
    WHERE s.term_id = :term_id
      AND NOT EXISTS (SELECT 1 FROM enrollments e
                      WHERE e.student_id = b.student_id AND e.section_id = s.id)
    GROUP BY s.id, s.capacity, s.enrolled, s.status
    ORDER BY s.id
    """
)
_BASKET_STUDENTS = text(
    """
    SELECT b.student_id FROM basket_entries b
    WHERE b.section_id = :section_id
      AND NOT EXISTS (SELECT 1 FROM enrollments e
                      WHERE e.student_id = b.student_id AND e.section_id = b.section_id)
    ORDER BY b.created_at, b.student_id
    """
)


@dataclass
class AutoEnrollReport:
    term_id: int
    sections_with_demand: int = 0
    sections_filled: int = 0
    sections_contested: list[int] = field(default_factory=list)
    enrolled: int = 0
    already_enrolled: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "term_id": self.term_id,
            "sections_with_demand": self.sections_with_demand,
            "sections_filled": self.sections_filled,
            "sections_contested": self.sections_contested,
            "enrolled": self.enrolled,
            "already_enrolled": self.already_enrolled,
            "skipped": dict(self.skipped),
        }


async def auto_enroll(
    db: Database,
    service: EnrollmentService,
    term_id: int,
    *,
    actor_id: int | None,
    progress: Callable[[int, int], None] | None = None,
) -> AutoEnrollReport:
    report = AutoEnrollReport(term_id)
    async with db.transaction(write=False) as conn:
        demand = (await conn.execute(_DEMAND, {"term_id": term_id})).all()
    report.sections_with_demand = len(demand)
    uncontested = [d for d in demand if d.status == "open" and d.demand <= d.seats_left]
    report.sections_contested = [d.id for d in demand if d not in uncontested]

    for done, section in enumerate(uncontested, start=1):
        async with db.transaction(write=False) as conn:
            students = (await conn.scalars(_BASKET_STUDENTS, {"section_id": section.id})).all()
        for student_id in students:
            await _enroll_one(db, service, report, student_id, section.id, actor_id)
        report.sections_filled += 1
        if progress:
            progress(done, len(uncontested))
    return report


async def _enroll_one(
    db: Database,
    service: EnrollmentService,
    report: AutoEnrollReport,
    student_id: int,
    section_id: int,
    actor_id: int | None,
) -> None:
    async def work(conn: AsyncConnection) -> None:
        await service.enroll_in(
            conn, student_id, section_id, actor_id=actor_id, source="auto", enforce_window=False
        )

    try:
        await db.run(work)
        report.enrolled += 1
    except AlreadyEnrolled:
        report.already_enrolled += 1
    except SugangError as refusal:
        report.skipped[refusal.code] += 1
