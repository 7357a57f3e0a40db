"""Who is enrolled in a section and who waits, and the roster as a spreadsheet."""

import csv
import io

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.db.types import UTCDateTime
from sugang.registrar.schemas import Roster, RosterEntry

_ENROLLED = text(
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


async def enrolled(conn: AsyncConnection, section_id: int) -> list[RosterEntry]:
    rows = await conn.execute(_ENROLLED, {"section_id": section_id})
    return [RosterEntry(**r._mapping) for r in rows]


async def waitlist(conn: AsyncConnection, section_id: int) -> list[RosterEntry]:
    rows = await conn.execute(_WAITLIST, {"section_id": section_id})
    return [RosterEntry(**r._mapping, position=i) for i, r in enumerate(rows, start=1)]


def as_csv(roster: Roster) -> tuple[str, str]:
    """(file name, CSV text) of the roster: the enrolled, then the waitlist in order."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["status", "position", "student_number", "name", "year", "department", "since"])
    for status, entries in (("enrolled", roster.enrolled), ("waitlisted", roster.waitlist)):
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
    section = roster.section
    return f"{section.course_code}-{section.number:02d}-roster.csv", out.getvalue()
