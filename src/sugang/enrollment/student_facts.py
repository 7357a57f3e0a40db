"""What the rules read of a student, locked or not: year, credit limit and the version of
their state, the sections they hold in a term, the prerequisites they completed.

`students.version` moves in every transaction that changes any of it, so a claim made on
facts read earlier can check that they are still current (see sugang.enrollment.seats)."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.cache import CatalogCache
from sugang.catalog.facts import SectionInfo, TermInfo
from sugang.enrollment.rules import StudentInfo
from sugang.errors import NotFound

# Optimistic reads of a catalog that keeps moving before the locked path takes over.
CATALOG_READS = 3


class StaleFacts(Exception):
    """What the rules judged has moved since it was read (the student's state or the
    catalog): judge again."""


# Locks the row (an UPDATE) and moves the version: whatever this transaction then does to
# the student, an optimistic claim judged on the old state will not be made.
_LOCK_STUDENT = text(
    """
    UPDATE students SET version = version + 1 WHERE id = :student_id
    RETURNING id, year, max_credits, version,
              (SELECT version FROM catalog_state WHERE id = 1) AS catalog_version
    """
)

# The optimistic read: the student, their sections in the term and the completed courses
# among the prerequisites, in one snapshot, without a lock.
_UNLOCKED_PG = text(
    """
    SELECT s.id, s.year, s.max_credits, s.version,
           (SELECT version FROM catalog_state WHERE id = 1) AS catalog_version,
           ARRAY(SELECT e.section_id FROM enrollments e
                 WHERE e.student_id = s.id AND e.term_id = :term_id) AS held,
           ARRAY(SELECT c.course_id FROM completed_courses c
                 WHERE c.student_id = s.id AND c.course_id = ANY(:course_ids)) AS completed
    FROM students s WHERE s.id = :student_id
    """
).bindparams(bindparam("course_ids", type_=ARRAY(Integer)))

_HELD_SECTIONS = text(
    "SELECT section_id FROM enrollments WHERE student_id = :student_id AND term_id = :term_id"
)

_COMPLETED_AMONG = text(
    """
    SELECT course_id FROM completed_courses
    WHERE student_id = :student_id AND course_id IN :course_ids
    """
).bindparams(bindparam("course_ids", expanding=True))


def _no_student(student_id: int) -> NotFound:
    return NotFound(what="student", what_ko="학생", student_id=student_id)


async def lock_student(conn: AsyncConnection, cache: CatalogCache, student_id: int) -> StudentInfo:
    """Lock the student's row (their transactions serialise here), move its version (an
    optimistic claim judged before this transaction is not made), and sync the catalog
    cache with the version read in the same statement."""
    row = (await conn.execute(_LOCK_STUDENT, {"student_id": student_id})).first()
    if row is None:
        raise _no_student(student_id)
    cache.sync(row.catalog_version)
    return StudentInfo(row.id, row.year, row.max_credits, row.version)


async def held_sections(
    conn: AsyncConnection, cache: CatalogCache, student_id: int, term_id: int
) -> list[SectionInfo]:
    rows = await conn.execute(_HELD_SECTIONS, {"student_id": student_id, "term_id": term_id})
    ids = [r.section_id for r in rows]
    return list((await cache.sections(conn, ids)).values()) if ids else []


async def completed_among(
    conn: AsyncConnection, student_id: int, course_ids: Iterable[int]
) -> set[int]:
    wanted = sorted(course_ids)
    if not wanted:
        return set()
    rows = await conn.execute(_COMPLETED_AMONG, {"student_id": student_id, "course_ids": wanted})
    return {r.course_id for r in rows}


async def read_unlocked(
    conn: AsyncConnection, cache: CatalogCache, student_id: int, section_id: int
) -> tuple[StudentInfo, SectionInfo, TermInfo, list[SectionInfo], set[int]]:
    """One unlocked read of everything the rules need (PostgreSQL), with the catalog cache
    synced to the version read in the same snapshot (read again if the catalog moved
    meanwhile). Raises StaleFacts if the catalog keeps moving."""
    row: Any = None
    for _ in range(CATALOG_READS):
        section = await cache.section(conn, section_id)
        params = {
            "student_id": student_id,
            "term_id": section.term_id,
            "course_ids": sorted(section.prerequisites),
        }
        row = (await conn.execute(_UNLOCKED_PG, params)).first()
        if row is None:
            raise _no_student(student_id)
        if row.catalog_version == cache.version:
            break
        cache.sync(row.catalog_version)
    else:
        raise StaleFacts()
    student = StudentInfo(row.id, row.year, row.max_credits, row.version)
    term = await cache.term(conn, section.term_id)
    held = await cache.sections(conn, row.held) if row.held else {}
    return student, section, term, list(held.values()), set(row.completed)
