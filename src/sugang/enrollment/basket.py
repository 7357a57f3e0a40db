"""The basket (장바구니): sections a student lines up during the basket period."""

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.base import UTCDateTime
from sugang.enrollment import rules
from sugang.enrollment.service import EnrollmentService
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


async def add_to_basket(
    conn: AsyncConnection, service: EnrollmentService, student_id: int, section_id: int
) -> None:
    """Add a section, refusing a second section of a course, a clash or too many credits."""
    now = service.clock()
    student = await service.lock_student(conn, student_id)
    section = await service.catalog.section(conn, section_id)
    term = await service.catalog.term(conn, section.term_id)
    rows = await conn.execute(_BASKET_SECTIONS, {"student_id": student_id, "term_id": term.id})
    basket = await service.catalog.sections(conn, [r.section_id for r in rows])
    refusal = rules.check_basket_add(student, term, section, list(basket.values()), now)
    if refusal is not None:
        raise refusal
    await conn.execute(_ADD, {"student_id": student_id, "section_id": section_id, "now": now})


async def remove_from_basket(conn: AsyncConnection, student_id: int, section_id: int) -> None:
    removed = await conn.execute(_REMOVE, {"student_id": student_id, "section_id": section_id})
    if removed.first() is None:
        raise NotInBasket(section_id=section_id)


async def basket_section_ids(conn: AsyncConnection, student_id: int, term_id: int) -> list[int]:
    rows = await conn.execute(_BASKET_SECTIONS, {"student_id": student_id, "term_id": term_id})
    return [r.section_id for r in rows]
