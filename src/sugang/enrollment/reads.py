"""Reads of a student's enrollments and waitlist places (the views are built by the service
from sugang.catalog.reads)."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_MY_SECTIONS = text(
    "SELECT section_id FROM enrollments WHERE student_id = :student_id AND term_id = :term_id"
    " ORDER BY created_at"
)
_MY_WAITLIST = text(
    """
    SELECT w.section_id,
           (SELECT count(*) FROM waitlist_entries o
            WHERE o.section_id = w.section_id AND o.id <= w.id) AS position
    FROM waitlist_entries w JOIN sections s ON s.id = w.section_id
    WHERE w.student_id = :student_id AND s.term_id = :term_id
    ORDER BY w.id
    """
)
_ENROLLMENT_ID = text(
    "SELECT id FROM enrollments WHERE student_id = :student_id AND section_id = :section_id"
)
_MAX_CREDITS = text("SELECT max_credits FROM students WHERE id = :student_id")
_ALL_HELD = text(
    "SELECT section_id FROM enrollments WHERE student_id = :student_id ORDER BY section_id"
)
_TERM_HAS_ENROLLMENTS = text("SELECT 1 FROM enrollments WHERE term_id = :term_id LIMIT 1")


async def my_section_ids(conn: AsyncConnection, student_id: int, term_id: int) -> list[int]:
    rows = await conn.execute(_MY_SECTIONS, {"student_id": student_id, "term_id": term_id})
    return [r.section_id for r in rows]


async def my_waitlist(conn: AsyncConnection, student_id: int, term_id: int) -> list[Any]:
    """(section_id, position) of every waitlist the student is on in the term."""
    params = {"student_id": student_id, "term_id": term_id}
    return list((await conn.execute(_MY_WAITLIST, params)).all())


async def enrollment_id(conn: AsyncConnection, student_id: int, section_id: int) -> int | None:
    """The student's enrollment in the section, if there is one."""
    params = {"student_id": student_id, "section_id": section_id}
    found = await conn.scalar(_ENROLLMENT_ID, params)
    return None if found is None else int(found)


async def max_credits(conn: AsyncConnection, student_id: int) -> int:
    return int(await conn.scalar(_MAX_CREDITS, {"student_id": student_id}) or 0)


async def held_anywhere(conn: AsyncConnection, student_id: int) -> list[int]:
    """Every section the student holds, in any term, in one order (their rows are locked in
    it, so two transactions over the same sections cannot lock them crosswise)."""
    return list((await conn.scalars(_ALL_HELD, {"student_id": student_id})).all())


async def term_has_enrollments(conn: AsyncConnection, term_id: int) -> bool:
    return (await conn.execute(_TERM_HAS_ENROLLMENTS, {"term_id": term_id})).first() is not None
