"""Every statement that moves `sections.enrolled`, for PostgreSQL and SQLite side by side.

The invariant they keep: a section's `enrolled` is the number of its enrollment rows, and
never more than its `capacity`, whatever runs concurrently.
- A seat is claimed by one conditional UPDATE (`enrolled < capacity`). PostgreSQL re-checks
  the condition on the newest row version after waiting for a concurrent claimer, so the
  last seat goes to one of them; the CHECK `enrolled <= capacity` would refuse an oversell
  even if that reasoning were ever wrong. The enrollment row is inserted with the claim,
  in the same statement (PostgreSQL) or transaction (SQLite), and a seat is released with the
  deletion of its row.
- The claim carries the `students.version` the rules were judged on and is made only if it
  is still current (see sugang.enrollment.student_facts), so two requests of one student
  cannot both pass the rules on the same state.
- No seat stays free while someone waits: freeing a seat and joining a waitlist both happen
  under the section's row lock (`seats_now(lock=True)`), and `fill_from_waitlist` hands every
  free seat of an open section to the head of its waitlist before the lock is let go. A drop
  that hands its seat on leaves `enrolled` as it was: the seat changed hands.
On SQLite every write transaction is BEGIN IMMEDIATE, so writers are serial.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.catalog.cache import CatalogCache
from sugang.catalog.facts import SectionInfo, TermInfo
from sugang.db.types import UTCDateTime
from sugang.enrollment import rules, student_facts, waitlist
from sugang.enrollment.rules import StudentInfo
from sugang.enrollment.student_facts import StaleFacts
from sugang.errors import AlreadyEnrolled, NotFound

Source = Literal["live", "auto", "waitlist", "admin"]

# On PostgreSQL one statement checks that what the rules judged is still current (the
# student's version and, when given, the catalog's), moves the student's version, claims
# the seat, records the enrollment and audits it. A section without a free seat in the
# statement's snapshot writes nothing (a refusal costs no WAL flush).
CLAIM_SEAT_PG = text(
    """
    WITH judged AS (
        UPDATE students SET version = version + 1
        WHERE id = :student_id AND version = :version
          AND (CAST(:catalog_version AS INTEGER) IS NULL
               OR (SELECT version FROM catalog_state WHERE id = 1) = :catalog_version)
          AND EXISTS (SELECT 1 FROM sections
                      WHERE id = :section_id AND status = 'open' AND enrolled < capacity)
        RETURNING id
    ), seat AS (
        UPDATE sections SET enrolled = enrolled + 1
        WHERE id = :section_id AND status = 'open' AND enrolled < capacity
          AND EXISTS (SELECT 1 FROM judged)
        RETURNING id, term_id, course_id
    ), enrollment AS (
        INSERT INTO enrollments (term_id, student_id, section_id, course_id, source, created_at)
        SELECT term_id, :student_id, id, course_id, :source, :now FROM seat
        RETURNING id
    ), audit AS (
        INSERT INTO audit_log (at, actor_id, student_id, section_id, action, outcome)
        SELECT :now, CAST(:actor_id AS INTEGER), :student_id, :section_id, :action, 'ok'
        FROM enrollment
    ), off_waitlist AS (
        DELETE FROM waitlist_entries
        WHERE section_id = :section_id AND student_id = :student_id
          AND EXISTS (SELECT 1 FROM enrollment)
    )
    SELECT (SELECT id FROM enrollment) AS id,
           EXISTS (SELECT 1 FROM judged) AS judged,
           (SELECT s.version = :version FROM students s WHERE s.id = :student_id)
           AND (CAST(:catalog_version AS INTEGER) IS NULL
                OR (SELECT version FROM catalog_state WHERE id = 1) = :catalog_version)
             AS current
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_JUDGED_CURRENT_SQLITE = text(
    "UPDATE students SET version = version + 1 WHERE id = :student_id AND version = :version"
    " RETURNING id"
)

_TAKE_SEAT_IF_FREE = text(
    """
    UPDATE sections SET enrolled = enrolled + 1
    WHERE id = :section_id AND status = 'open' AND enrolled < capacity
    RETURNING id
    """
)

_INSERT_ENROLLMENT = text(
    """
    INSERT INTO enrollments (term_id, student_id, section_id, course_id, source, created_at)
    VALUES (:term_id, :student_id, :section_id, :course_id, :source, :now)
    RETURNING id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_SEATS = "SELECT status, capacity, enrolled FROM sections WHERE id = :section_id"
_SEATS_LOCKED_PG = text(_SEATS + " FOR NO KEY UPDATE")
_SEATS_UNLOCKED = text(_SEATS)

_DELETE_ENROLLMENT = text(
    """
    DELETE FROM enrollments WHERE student_id = :student_id AND section_id = :section_id
    RETURNING id
    """
)
_MOVE_SEATS = text("UPDATE sections SET enrolled = enrolled + :by WHERE id = :section_id")


@dataclass(frozen=True)
class Seats:
    status: str
    capacity: int
    enrolled: int


async def claim(
    conn: AsyncConnection,
    student: StudentInfo,
    section: SectionInfo,
    source: Source,
    actor_id: int | None,
    now: datetime,
    *,
    catalog_version: int | None = None,
) -> int | None:
    """The new enrollment's id, or None when the section is full or closed. Raises
    StaleFacts if the student's version is no longer `student.version`, or the catalog's no
    longer `catalog_version` (when given)."""
    action = "enroll" if source == "live" else f"enroll_{source}"
    ids = {"student_id": student.id, "section_id": section.id}
    try:
        if conn.dialect.name != "sqlite":
            params = {
                **ids,
                "version": student.version,
                "catalog_version": catalog_version,
                "source": source,
                "now": now,
                "actor_id": actor_id,
                "action": action,
            }
            row = (await conn.execute(CLAIM_SEAT_PG, params)).one()
            if not row.judged and not row.current:
                raise StaleFacts()
            return None if row.id is None else int(row.id)

        judged = {"student_id": student.id, "version": student.version}
        if (await conn.execute(_JUDGED_CURRENT_SQLITE, judged)).first() is None:
            raise StaleFacts()
        if (await conn.execute(_TAKE_SEAT_IF_FREE, {"section_id": section.id})).first() is None:
            return None
        enrollment_id = await _insert_enrollment(conn, student.id, section, source, now)
        await waitlist.leave(conn, student.id, section.id)
        await audit.record(
            conn, now, action, actor_id=actor_id, student_id=student.id, section_id=section.id
        )
        return enrollment_id
    except IntegrityError as error:
        # The rules judged the committed state, so only a bug could reach the UNIQUE
        # constraint; refuse cleanly rather than answer 500.
        if "uq_enrollments" in str(error.orig) or "UNIQUE" in str(error.orig):
            raise AlreadyEnrolled(course_code=section.course_code) from error
        raise


async def seats_now(conn: AsyncConnection, section_id: int, *, lock: bool) -> Seats:
    """The section's seats as committed now, its row locked if asked (PostgreSQL; SQLite's
    writers are serial already)."""
    sqlite = conn.dialect.name == "sqlite"
    query = _SEATS_LOCKED_PG if lock and not sqlite else _SEATS_UNLOCKED
    row = (await conn.execute(query, {"section_id": section_id})).first()
    if row is None:  # deleted by the registrar since the catalog was read
        raise NotFound(what="section", what_ko="분반", section_id=section_id)
    return Seats(row.status, row.capacity, row.enrolled)


async def release(
    conn: AsyncConnection,
    cache: CatalogCache,
    student_id: int,
    section: SectionInfo,
    now: datetime,
    actor_id: int | None,
) -> list[int] | None:
    """Drop the student's enrollment and hand its seat to the head of the waitlist (see
    `fill_from_waitlist`). The students promoted; None if the student held no seat here."""
    params = {"student_id": student_id, "section_id": section.id}
    if (await conn.execute(_DELETE_ENROLLMENT, params)).first() is None:
        return None
    await audit.record(
        conn, now, "drop", actor_id=actor_id, student_id=student_id, section_id=section.id
    )
    return await fill_from_waitlist(conn, cache, section, now, actor_id, released=1)


async def fill_from_waitlist(
    conn: AsyncConnection,
    cache: CatalogCache,
    section: SectionInfo,
    now: datetime,
    actor_id: int | None,
    *,
    released: int = 0,
) -> list[int]:
    """Under the section's row lock, hand every free seat of an open section (`released`:
    seats this transaction just gave up, not yet counted) to the head of its waitlist, skipping
    (and auditing) anyone who no longer passes the rules; then move `enrolled` once, by what
    changed. The students promoted, in order.

    The registration window is not judged again: joining the waitlist was the request, made
    while the window was open."""
    seats = await seats_now(conn, section.id, lock=True)
    free = seats.capacity - seats.enrolled + released
    promoted: list[int] = []
    if seats.status == "open":
        term = await cache.term(conn, section.term_id)
        while len(promoted) < free:
            student_id = await _next_eligible(conn, cache, term, section, now, actor_id)
            if student_id is None:
                break
            await _insert_enrollment(conn, student_id, section, "waitlist", now)
            await audit.record(
                conn,
                now,
                "promote",
                actor_id=actor_id,
                student_id=student_id,
                section_id=section.id,
            )
            promoted.append(student_id)
    if moved := len(promoted) - released:
        await conn.execute(_MOVE_SEATS, {"by": moved, "section_id": section.id})
    return promoted


async def _next_eligible(
    conn: AsyncConnection,
    cache: CatalogCache,
    term: TermInfo,
    section: SectionInfo,
    now: datetime,
    actor_id: int | None,
) -> int | None:
    """Take waitlist entries from the head until one's student passes the rules now (their
    row locked); the ones who do not are audited with the reason and dropped from the line."""
    while (student_id := await waitlist.take_head(conn, section.id)) is not None:
        candidate = await student_facts.lock_student(conn, cache, student_id)
        held = await student_facts.held_sections(conn, cache, student_id, section.term_id)
        completed = await student_facts.completed_among(conn, student_id, section.prerequisites)
        refusal = rules.check_enroll(
            candidate, term, section, held, completed, None, now, enforce_window=False
        )
        if refusal is None:
            return student_id
        await audit.record(
            conn,
            now,
            "promote",
            outcome=refusal.code,
            actor_id=actor_id,
            student_id=student_id,
            section_id=section.id,
            detail=refusal.detail,
        )
    return None


async def _insert_enrollment(
    conn: AsyncConnection, student_id: int, section: SectionInfo, source: Source, now: datetime
) -> int:
    params = {
        "term_id": section.term_id,
        "student_id": student_id,
        "section_id": section.id,
        "course_id": section.course_id,
        "source": source,
        "now": now,
    }
    return int((await conn.execute(_INSERT_ENROLLMENT, params)).scalar_one())
