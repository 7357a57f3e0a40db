"""The basket (장바구니): sections a student lines up during the basket period."""

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.cache import CatalogCache
from sugang.db.types import UTCDateTime
from sugang.enrollment import rules, student_facts
from sugang.errors import NotInBasket

_BASKET_SECTIONS = text(
    """
    SELECT b.section_id FROM basket_entries b JOIN sections s ON s.id = b.section_id
    WHERE b.student_id = :student_id AND s.term_id = :term_id
    ORDER BY b.created_at
    """
)
_ADD = text(
    """
    INSERT INTO basket_entries (student_id, section_id, created_at)
    VALUES (:student_id, :section_id, :now)
    """
).bindparams(bindparam("now", type_=UTCDateTime()))
_REMOVE = text(
    "DELETE FROM basket_entries WHERE student_id = :student_id AND section_id = :section_id"
    " RETURNING section_id"
)


async def add(
    conn: AsyncConnection, cache: CatalogCache, student_id: int, section_id: int, now: datetime
) -> int:
    """Add a section, refusing a second section of a course, a clash or too many credits;
    the section's term."""
    student = await student_facts.lock_student(conn, cache, student_id)
    section = await cache.section(conn, section_id)
    term = await cache.term(conn, section.term_id)
    basket = await cache.sections(conn, await section_ids(conn, student_id, term.id))
    refusal = rules.check_basket_add(student, term, section, list(basket.values()), now)
    if refusal is not None:
        raise refusal
    await conn.execute(_ADD, {"student_id": student_id, "section_id": section_id, "now": now})
    return term.id


async def remove(conn: AsyncConnection, student_id: int, section_id: int) -> None:
    removed = await conn.execute(_REMOVE, {"student_id": student_id, "section_id": section_id})
    if removed.first() is None:
        raise NotInBasket(section_id=section_id)


async def section_ids(conn: AsyncConnection, student_id: int, term_id: int) -> list[int]:
    rows = await conn.execute(_BASKET_SECTIONS, {"student_id": student_id, "term_id": term_id})
    return [r.section_id for r in rows]
