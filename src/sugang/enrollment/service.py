"""Enroll, drop and waitlist, each atomic, with the rules judged on committed state.

Why it cannot oversell or double-enroll, whatever the concurrency:
- Every transaction that changes what the rules read of a student (their enrollments, year,
  credit limit, completed courses) moves `students.version`. The seat claim carries the
  version the rules were judged on and bumps it in the same statement only if it is still
  the same, so a claim judged on a state that changed since is not made (and is judged
  again). The transactional paths also lock the student's row first, so their rules read a
  state that cannot change under them. Different students never wait for each other.
- The seat is claimed by one conditional UPDATE (`enrolled < capacity`); PostgreSQL re-checks
  the condition on the newest row version after waiting for a concurrent claimer, and the
  CHECK constraint `enrolled <= capacity` would refuse an oversell even if that were wrong.
- UNIQUE (student_id, term_id, course_id) backs up the duplicate-course rule.
On SQLite every write transaction is BEGIN IMMEDIATE, so writers are serial.

On PostgreSQL an enroll without an Idempotency-Key or a waitlist wish runs optimistically
(`enroll_optimistically`): the student's facts are read without a lock and the claim is one
autocommitted statement, so a hot section's row is locked for that statement alone, never
across a round trip to this process (at the rush, the event loop's delay before COMMIT was
the lock's real holding time).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ARRAY, JSON, Integer, bindparam, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.base import UTCDateTime
from sugang.catalog.cache import CatalogCache
from sugang.clock import Clock
from sugang.db import Database, is_retryable
from sugang.enrollment import rules
from sugang.enrollment.rules import Admission, SectionInfo, StudentInfo, TermInfo
from sugang.errors import (
    AlreadyEnrolled,
    AlreadyWaitlisted,
    NotEnrolled,
    NotFound,
    SectionClosed,
    SectionFull,
)

Source = Literal["live", "auto", "waitlist", "admin"]

# Optimistic tries before a student whose state keeps moving takes the transactional path.
OPTIMISTIC_ATTEMPTS = 3


@dataclass(frozen=True)
class Enrolled:
    section_id: int
    enrollment_id: int


@dataclass(frozen=True)
class Waitlisted:
    section_id: int
    position: int


@dataclass(frozen=True)
class Dropped:
    section_id: int
    promoted_student_id: int | None = None


@dataclass(frozen=True)
class LeftWaitlist:
    section_id: int


class StaleStudent(Exception):
    """The student's state moved between the rules' read and the claim: judge again."""


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
_STUDENT_FACTS_PG = text(
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

# The seat claim. On PostgreSQL one statement checks that what the rules judged is still
# current (the student's version and, when given, the catalog's), moves the student's
# version, claims the seat, records the enrollment and audits it. A section without a free
# seat in the statement's snapshot writes nothing (a refusal costs no WAL flush).
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

_CLAIM_SEAT_SQLITE = text(
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

_LOCK_SEATS = "SELECT status, capacity, enrolled FROM sections WHERE id = :section_id"
_LOCK_SEATS_PG = text(_LOCK_SEATS + " FOR NO KEY UPDATE")
_LOCK_SEATS_SQLITE = text(_LOCK_SEATS)

_RELEASE_SEAT = text("UPDATE sections SET enrolled = enrolled - 1 WHERE id = :section_id")

_DELETE_ENROLLMENT = text(
    """
    DELETE FROM enrollments WHERE student_id = :student_id AND section_id = :section_id
    RETURNING id
    """
)

_JOIN_WAITLIST = text(
    """
    INSERT INTO waitlist_entries (section_id, student_id, created_at)
    VALUES (:section_id, :student_id, :now)
    ON CONFLICT (section_id, student_id) DO NOTHING
    RETURNING id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_WAITLIST_POSITION = text(
    """
    SELECT count(*) FROM waitlist_entries
    WHERE section_id = :section_id
      AND id <= (SELECT id FROM waitlist_entries
                 WHERE section_id = :section_id AND student_id = :student_id)
    """
)

_LEAVE_WAITLIST = text(
    """
    DELETE FROM waitlist_entries WHERE student_id = :student_id AND section_id = :section_id
    RETURNING id
    """
)

_WAITLIST_HEAD = text(
    "SELECT id, student_id FROM waitlist_entries WHERE section_id = :section_id ORDER BY id LIMIT 1"
)

_TAKE_WAITLIST_ENTRY = text("DELETE FROM waitlist_entries WHERE id = :id RETURNING student_id")

_AUDIT = text(
    """
    INSERT INTO audit_log (at, actor_id, student_id, section_id, action, outcome, detail)
    VALUES (:now, :actor_id, :student_id, :section_id, :action, :outcome, :detail)
    """
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("detail", type_=JSON()))


class EnrollmentService:
    def __init__(self, catalog: CatalogCache, clock: Clock) -> None:
        self.catalog = catalog
        self.clock = clock

    async def enroll(
        self,
        conn: AsyncConnection,
        student_id: int,
        section_id: int,
        *,
        waitlist: bool = False,
        actor_id: int | None = None,
        source: Source = "live",
        enforce_window: bool = True,
        admission: Admission | None = None,
    ) -> Enrolled | Waitlisted:
        """Inside the caller's transaction, holding the student's lock. `enforce_window` is
        False only for the registrar's own paths (auto-enrollment), which skip the window and
        the waiting room alike."""
        now = self.clock()
        student = await self.lock_student(conn, student_id)
        section = await self.catalog.section(conn, section_id)
        term = await self.catalog.term(conn, section.term_id)
        if enforce_window and (refusal := rules.check_admission(term, student_id, admission, now)):
            raise refusal
        held = await self.held_sections(conn, student_id, section.term_id)
        completed = await self.completed_among(conn, student_id, section.prerequisites)
        refusal = rules.check_enrollment(
            student, term, section, held, completed, now, enforce_window=enforce_window
        )
        if refusal is not None:
            raise refusal

        enrollment_id = await self.claim_seat(conn, student, section, source, actor_id, now)
        if enrollment_id is not None:
            return Enrolled(section_id, enrollment_id)

        # Full, by the claim. Deciding to queue happens under the section's row lock, which a
        # drop also takes before it looks at the waitlist: so either the drop sees this entry
        # and promotes it, or this request sees the seat the drop freed and takes it. A plain
        # refusal needs no lock (it is simply ordered before the drop), and must not take one:
        # in the rush, refusals outnumber seats many times over.
        seats = await self.lock_seats(conn, section_id, lock=waitlist)
        if seats.status != "open":
            raise SectionClosed(section_id=section_id)
        if seats.enrolled < seats.capacity:
            student = await self.lock_student(conn, student_id)  # its current version
            enrollment_id = await self.claim_seat(conn, student, section, source, actor_id, now)
            if enrollment_id is not None:
                return Enrolled(section_id, enrollment_id)
        if not waitlist:
            raise SectionFull(section_id=section_id, capacity=seats.capacity)
        return await self._join_waitlist(conn, student_id, section_id, actor_id)

    async def enroll_optimistically(
        self,
        db: Database,
        student_id: int,
        section_id: int,
        *,
        actor_id: int | None = None,
        admission: Admission | None = None,
    ) -> Enrolled:
        """A live enroll without a transaction held open (PostgreSQL): read the student's
        facts without a lock, judge them, then claim in one autocommitted statement that is
        made only if the student's version is still the one judged; judged again if not.
        Elsewhere (SQLite, or a student whose state keeps moving) the transactional path."""
        if db.is_sqlite:
            return await self._enroll_in_transaction(
                db, student_id, section_id, actor_id, admission
            )
        for _ in range(OPTIMISTIC_ATTEMPTS):
            async with db.autocommit() as conn:
                now = self.clock()
                try:
                    facts = await self._student_facts(conn, student_id, section_id)
                except StaleStudent:
                    break
                student, section, term, held, completed = facts
                refusal = rules.check_admission(term, student_id, admission, now)
                refusal = refusal or rules.check_enrollment(
                    student, term, section, held, completed, now
                )
                if refusal is not None:
                    raise refusal
                try:
                    enrollment_id = await self.claim_seat(
                        conn,
                        student,
                        section,
                        "live",
                        actor_id,
                        now,
                        catalog_version=self.catalog.version,
                    )
                except StaleStudent:
                    continue  # the student or the catalog moved since the read: judge again
                except DBAPIError as error:
                    if not is_retryable(error):  # a deadlock with a drop promoting this student
                        raise
                    continue
                if enrollment_id is not None:
                    return Enrolled(section_id, enrollment_id)
                seats = await self.lock_seats(conn, section_id, lock=False)
                if seats.status != "open":
                    raise SectionClosed(section_id=section_id)
                if seats.enrolled >= seats.capacity:
                    raise SectionFull(section_id=section_id, capacity=seats.capacity)
                # a seat freed after the claim's snapshot: try again
        return await self._enroll_in_transaction(db, student_id, section_id, actor_id, admission)

    async def _enroll_in_transaction(
        self,
        db: Database,
        student_id: int,
        section_id: int,
        actor_id: int | None,
        admission: Admission | None,
    ) -> Enrolled:
        async def work(conn: AsyncConnection) -> Enrolled:
            outcome = await self.enroll(
                conn, student_id, section_id, actor_id=actor_id, admission=admission
            )
            assert isinstance(outcome, Enrolled)  # no waitlist was asked for
            return outcome

        return await db.run(work)

    async def _student_facts(
        self, conn: AsyncConnection, student_id: int, section_id: int
    ) -> tuple[StudentInfo, SectionInfo, TermInfo, list[SectionInfo], set[int]]:
        """One unlocked read of everything the rules need, with the catalog cache synced to
        the version read in the same snapshot (read again if the catalog moved meanwhile)."""
        for _ in range(OPTIMISTIC_ATTEMPTS):
            section = await self.catalog.section(conn, section_id)
            params = {
                "student_id": student_id,
                "term_id": section.term_id,
                "course_ids": sorted(section.prerequisites),
            }
            row = (await conn.execute(_STUDENT_FACTS_PG, params)).first()
            if row is None:
                raise NotFound(what="student", what_ko="학생", student_id=student_id)
            if row.catalog_version == self.catalog.version:
                break
            self.catalog.sync(row.catalog_version)
        else:
            raise StaleStudent()  # the catalog keeps moving: leave it to the locked path
        student = StudentInfo(row.id, row.year, row.max_credits, row.version)
        term = await self.catalog.term(conn, section.term_id)
        held = await self.catalog.sections(conn, row.held) if row.held else {}
        return student, section, term, list(held.values()), set(row.completed)

    async def drop(
        self,
        conn: AsyncConnection,
        student_id: int,
        section_id: int,
        *,
        actor_id: int | None = None,
        enforce_window: bool = True,
        admission: Admission | None = None,
    ) -> Dropped | LeftWaitlist:
        """Drop an enrollment (handing the seat to the waitlist) or leave the waitlist."""
        now = self.clock()
        student = await self.lock_student(conn, student_id)
        section = await self.catalog.section(conn, section_id)
        if enforce_window:
            term = await self.catalog.term(conn, section.term_id)
            refusal = rules.check_admission(term, student_id, admission, now) or rules.check_window(
                term, student.year, now
            )
            if refusal is not None:
                raise refusal

        params = {"student_id": student_id, "section_id": section_id}
        if (await conn.execute(_DELETE_ENROLLMENT, params)).first() is None:
            if (await conn.execute(_LEAVE_WAITLIST, params)).first() is None:
                raise NotEnrolled(section_id=section_id)
            await self.audit(conn, "leave_waitlist", "ok", actor_id, student_id, section_id)
            return LeftWaitlist(section_id)

        await self.audit(conn, "drop", "ok", actor_id, student_id, section_id)
        await self.lock_seats(conn, section_id)  # see enroll: queueing and freeing serialise here
        promoted = await self.promote_from_waitlist(conn, section, seats=1, actor_id=actor_id)
        if not promoted:
            await conn.execute(_RELEASE_SEAT, {"section_id": section_id})
        return Dropped(section_id, promoted[0] if promoted else None)

    async def promote_from_waitlist(
        self,
        conn: AsyncConnection,
        section: SectionInfo,
        *,
        seats: int,
        actor_id: int | None,
    ) -> list[int]:
        """Hand up to `seats` seats to the head of the waitlist, skipping (and auditing) anyone
        who no longer passes the rules. The caller accounts for the seats in sections.enrolled.

        The registration window is not re-checked: joining the waitlist was the request, made
        while the window was open.
        """
        if section.status != "open":
            return []
        now = self.clock()
        term = await self.catalog.term(conn, section.term_id)
        promoted: list[int] = []
        while len(promoted) < seats:
            head = (await conn.execute(_WAITLIST_HEAD, {"section_id": section.id})).first()
            if head is None:
                break
            taken = await conn.execute(_TAKE_WAITLIST_ENTRY, {"id": head.id})
            if taken.first() is None:
                continue  # a concurrent drop took this entry first; look again
            candidate = await self.lock_student(conn, head.student_id)
            held = await self.held_sections(conn, head.student_id, section.term_id)
            completed = await self.completed_among(conn, head.student_id, section.prerequisites)
            refusal = rules.check_enrollment(
                candidate, term, section, held, completed, now, enforce_window=False
            )
            if refusal is not None:
                await self.audit(
                    conn,
                    "promote",
                    refusal.code,
                    actor_id,
                    head.student_id,
                    section.id,
                    detail=_json_safe(refusal.detail),
                )
                continue
            await conn.execute(
                _INSERT_ENROLLMENT,
                {
                    "term_id": section.term_id,
                    "student_id": head.student_id,
                    "section_id": section.id,
                    "course_id": section.course_id,
                    "source": "waitlist",
                    "now": now,
                },
            )
            await self.audit(conn, "promote", "ok", actor_id, head.student_id, section.id)
            promoted.append(head.student_id)
        return promoted

    async def lock_student(self, conn: AsyncConnection, student_id: int) -> StudentInfo:
        """Lock the student's row (their transactions serialise here), move its version (an
        optimistic claim judged before this transaction is not made), and sync the catalog
        cache with the version read in the same statement."""
        row = (await conn.execute(_LOCK_STUDENT, {"student_id": student_id})).first()
        if row is None:
            raise NotFound(what="student", what_ko="학생", student_id=student_id)
        self.catalog.sync(row.catalog_version)
        return StudentInfo(row.id, row.year, row.max_credits, row.version)

    async def lock_seats(self, conn: AsyncConnection, section_id: int, *, lock: bool = True) -> Any:
        """(status, capacity, enrolled) as committed now, locking the row unless told not to."""
        sqlite = conn.dialect.name == "sqlite"
        query = _LOCK_SEATS_SQLITE if sqlite or not lock else _LOCK_SEATS_PG
        seats = (await conn.execute(query, {"section_id": section_id})).first()
        if seats is None:  # deleted by the registrar since the catalog was read
            raise NotFound(what="section", what_ko="분반", section_id=section_id)
        return seats

    def with_private_cache(self) -> "EnrollmentService":
        """The same service over a cache of its own, for transactions that change the
        catalog: what they read before committing must not reach the shared cache."""
        return EnrollmentService(CatalogCache(), self.clock)

    async def held_sections(
        self, conn: AsyncConnection, student_id: int, term_id: int
    ) -> list[SectionInfo]:
        rows = await conn.execute(_HELD_SECTIONS, {"student_id": student_id, "term_id": term_id})
        ids = [r.section_id for r in rows]
        return list((await self.catalog.sections(conn, ids)).values()) if ids else []

    async def completed_among(
        self, conn: AsyncConnection, student_id: int, course_ids: Iterable[int]
    ) -> set[int]:
        wanted = sorted(course_ids)
        if not wanted:
            return set()
        rows = await conn.execute(
            _COMPLETED_AMONG, {"student_id": student_id, "course_ids": wanted}
        )
        return {r.course_id for r in rows}

    async def audit(
        self,
        conn: AsyncConnection,
        action: str,
        outcome: str,
        actor_id: int | None,
        student_id: int | None,
        section_id: int | None,
        *,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await conn.execute(
            _AUDIT,
            {
                "now": self.clock(),
                "actor_id": actor_id,
                "student_id": student_id,
                "section_id": section_id,
                "action": action,
                "outcome": outcome,
                "detail": detail,
            },
        )

    async def claim_seat(
        self,
        conn: AsyncConnection,
        student: StudentInfo,
        section: SectionInfo,
        source: Source,
        actor_id: int | None,
        now: Any,
        *,
        catalog_version: int | None = None,
    ) -> int | None:
        """The enrollment's id, or None when the section is full or closed. Raises
        StaleStudent if the student's version is no longer `student.version`, or the
        catalog's no longer `catalog_version` (when given)."""
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
                    raise StaleStudent()
                return None if row.id is None else int(row.id)

            judged = {"student_id": student.id, "version": student.version}
            if (await conn.execute(_JUDGED_CURRENT_SQLITE, judged)).first() is None:
                raise StaleStudent()
            if (await conn.execute(_CLAIM_SEAT_SQLITE, {"section_id": section.id})).first() is None:
                return None
            enrollment_id = (
                await conn.execute(
                    _INSERT_ENROLLMENT,
                    {
                        **ids,
                        "term_id": section.term_id,
                        "course_id": section.course_id,
                        "source": source,
                        "now": now,
                    },
                )
            ).scalar_one()
            await conn.execute(_LEAVE_WAITLIST, ids)
            await self.audit(conn, action, "ok", actor_id, student.id, section.id)
            return int(enrollment_id)
        except IntegrityError as error:
            # The rules judged the committed state, so only a bug could reach the UNIQUE
            # constraint; refuse cleanly rather than answer 500.
            if "uq_enrollments" in str(error.orig) or "UNIQUE" in str(error.orig):
                raise AlreadyEnrolled(course_code=section.course_code) from error
            raise

    async def _join_waitlist(
        self, conn: AsyncConnection, student_id: int, section_id: int, actor_id: int | None
    ) -> Waitlisted:
        params = {"student_id": student_id, "section_id": section_id}
        joined = (await conn.execute(_JOIN_WAITLIST, {**params, "now": self.clock()})).first()
        position = int((await conn.execute(_WAITLIST_POSITION, params)).scalar_one())
        if joined is None:
            raise AlreadyWaitlisted(section_id=section_id, position=position)
        await self.audit(
            conn, "waitlist", "ok", actor_id, student_id, section_id, detail={"position": position}
        )
        return Waitlisted(section_id, position)


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | None | list) else str(v)
        for k, v in detail.items()
    }
