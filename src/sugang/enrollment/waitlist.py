"""The statements on waitlist_entries. A position is the order of id among a section's
entries; promotion (handing a freed seat to the head) is in sugang.enrollment.seats."""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.db.types import UTCDateTime

_JOIN = text(
    """
    INSERT INTO waitlist_entries (section_id, student_id, created_at)
    VALUES (:section_id, :student_id, :now)
    ON CONFLICT (section_id, student_id) DO NOTHING
    RETURNING id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_POSITION = text(
    """
    SELECT count(*) FROM waitlist_entries
    WHERE section_id = :section_id
      AND id <= (SELECT id FROM waitlist_entries
                 WHERE section_id = :section_id AND student_id = :student_id)
    """
)

_LEAVE = text(
    """
    DELETE FROM waitlist_entries WHERE student_id = :student_id AND section_id = :section_id
    RETURNING id
    """
)

_HEAD = text(
    "SELECT id, student_id FROM waitlist_entries WHERE section_id = :section_id ORDER BY id LIMIT 1"
)

_TAKE = text("DELETE FROM waitlist_entries WHERE id = :id RETURNING student_id")


async def join(conn: AsyncConnection, student_id: int, section_id: int, now: datetime) -> bool:
    """Queue the student; False if they were queued already."""
    params = {"student_id": student_id, "section_id": section_id, "now": now}
    return (await conn.execute(_JOIN, params)).first() is not None


async def position(conn: AsyncConnection, student_id: int, section_id: int) -> int:
    params = {"student_id": student_id, "section_id": section_id}
    return int((await conn.execute(_POSITION, params)).scalar_one())


async def leave(conn: AsyncConnection, student_id: int, section_id: int) -> bool:
    """Take the student off the section's waitlist; False if they were not on it."""
    params = {"student_id": student_id, "section_id": section_id}
    return (await conn.execute(_LEAVE, params)).first() is not None


async def peek_head(conn: AsyncConnection, section_id: int) -> int | None:
    """The student first in line now, without taking them off it."""
    head: Any = (await conn.execute(_HEAD, {"section_id": section_id})).first()
    return None if head is None else int(head.student_id)


async def take_head(conn: AsyncConnection, section_id: int) -> int | None:
    """Remove the first entry and return its student; None when nobody waits."""
    while True:
        head: Any = (await conn.execute(_HEAD, {"section_id": section_id})).first()
        if head is None:
            return None
        taken = await conn.execute(_TAKE, {"id": head.id})
        if taken.first() is not None:
            return int(head.student_id)
        # a concurrent drop took this entry first; look again
