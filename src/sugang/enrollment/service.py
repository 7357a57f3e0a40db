"""Enroll, drop, the waitlist and the basket: each request one atomic unit of work.

A request is judged by the pure rules (sugang.enrollment.rules) on the student's committed
state and claimed by one statement (sugang.enrollment.seats), which is where the guarantees
live: no seat oversold, no course taken twice, no acknowledged enrollment lost. This module
chooses how a request runs, and does what follows it:
- A full section's attempts are refused from the full-section flag, before any database
  work (sugang.enrollment.fullness); a claim that finds a section full raises the flag, and
  every path that may free a seat clears it after its commit (`clear_full_flags`).
- On PostgreSQL an enroll without an Idempotency-Key or a waitlist wish runs optimistically:
  the student's facts are read without a lock and the claim is one autocommitted statement,
  so a hot section's row is locked for that statement alone, never across a round trip to
  this process (at the rush, the event loop's delay before COMMIT was the lock's real holding
  time). Otherwise (SQLite, an Idempotency-Key, a waitlist wish) it runs in one transaction
  that locks the student's row first, so the rules read a state that cannot change under
  them.
- Every attempt's outcome is counted (`AttemptMetrics`, Prometheus when served).
"""

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.catalog import reads as catalog_reads
from sugang.catalog.cache import CatalogCache
from sugang.catalog.schemas import SectionOut
from sugang.clock import Clock
from sugang.db import Database, is_retryable
from sugang.db.engine import CommitUnknown, is_disconnect
from sugang.db.idempotency import IdempotentRequest, Outcome, run_idempotent
from sugang.enrollment import basket, reads, rules, seats, student_facts, waitlist
from sugang.enrollment.fullness import FullSections
from sugang.enrollment.schemas import (
    Basket,
    EnrollOut,
    MyEnrollments,
    Timetable,
    TimetableSlot,
    WaitlistedSection,
)
from sugang.enrollment.seats import Source
from sugang.enrollment.student_facts import StaleFacts
from sugang.errors import AlreadyWaitlisted, NotEnrolled, NotFound, SectionFull, SugangError
from sugang.waitingroom.room import Admission

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


class AttemptMetrics(Protocol):
    def attempt(self, outcome: str) -> None:
        """An enroll attempt was answered: `enrolled`, `waitlisted` or the refusal's code."""

    def fast_refusal(self) -> None:
        """A SECTION_FULL was answered from the full-section flag."""


class _Uncounted:
    def attempt(self, outcome: str) -> None:
        return None

    def fast_refusal(self) -> None:
        return None


_COUNTED_AS = {201: "enrolled", 202: "waitlisted"}


class EnrollmentService:
    def __init__(
        self,
        db: Database,
        catalog_cache: CatalogCache,
        clock: Clock,
        full: FullSections,
        metrics: AttemptMetrics | None = None,
    ) -> None:
        self.db = db
        self.catalog_cache = catalog_cache
        self.clock = clock
        self.full = full
        self.metrics: AttemptMetrics = metrics or _Uncounted()

    # --- what a student asks ---------------------------------------------------------------

    async def enroll(
        self,
        student_id: int,
        section_id: int,
        *,
        waitlist: bool = False,
        admission: Admission | None = None,
        once: IdempotentRequest | None = None,
    ) -> Outcome:
        """201 enrolled, 202 waitlisted (when asked for), or a refusal raised; with `once`, a
        retry gets the first answer (stored refusals included)."""
        if not waitlist and (capacity := await self.full.capacity_if_full(section_id)) is not None:
            self.metrics.fast_refusal()
            self.metrics.attempt(SectionFull.code)
            raise rules.section_full(section_id, capacity)
        try:
            return await self._enroll(student_id, section_id, waitlist, admission, once)
        finally:
            if not waitlist:
                self.full.attempt_over(section_id)

    async def _enroll(
        self,
        student_id: int,
        section_id: int,
        waitlist: bool,
        admission: Admission | None,
        once: IdempotentRequest | None,
    ) -> Outcome:
        try:
            if once is None and not waitlist:
                # The rush's path: no record to keep with the claim, so no transaction held.
                outcome = _answer(
                    await self.enroll_optimistically(student_id, section_id, admission)
                )
            else:

                async def work(conn: AsyncConnection) -> Outcome:
                    enrolled = await self.enroll_in(
                        conn,
                        student_id,
                        section_id,
                        waitlist=waitlist,
                        actor_id=student_id,
                        admission=admission,
                    )
                    return _answer(enrolled)

                outcome = await run_idempotent(self.db, self.clock, once, work)
        except SugangError as refusal:
            self.metrics.attempt(refusal.code)
            if isinstance(refusal, SectionFull):
                await self.full.mark_full(section_id, refusal.detail["capacity"])
            raise
        if outcome.status == 201 and not outcome.replayed:
            self.full.seat_taken(section_id)
        self.metrics.attempt(_COUNTED_AS.get(outcome.status) or outcome.body["code"])
        return outcome

    async def drop(
        self,
        student_id: int,
        section_id: int,
        *,
        admission: Admission | None = None,
        once: IdempotentRequest | None = None,
    ) -> Outcome:
        """204: dropped (the seat goes to the head of the waitlist) or left the waitlist."""

        async def work(conn: AsyncConnection) -> Outcome:
            await self.drop_in(
                conn, student_id, section_id, actor_id=student_id, admission=admission
            )
            return Outcome(204)

        outcome = await run_idempotent(self.db, self.clock, once, work)
        await self.clear_full_flags([section_id])
        return outcome

    async def my_enrollments(self, student_id: int, term_id: int | None) -> MyEnrollments:
        """The term asked for (else the current one): sections, credits, waitlist places."""
        async with self.db.transaction(write=False) as conn:
            term_id, sections = await _my_sections(conn, student_id, term_id)
            places = await reads.my_waitlist(conn, student_id, term_id)
            waiting = await catalog_reads.section_views(conn, [p.section_id for p in places])
            max_credits = await reads.max_credits(conn, student_id)
        by_id = {s.id: s for s in waiting}
        return MyEnrollments(
            term_id=term_id,
            credits=sum(s.credits for s in sections),
            max_credits=max_credits,
            enrollments=sections,
            waitlist=[
                WaitlistedSection(section=by_id[p.section_id], position=p.position)
                for p in places
                if p.section_id in by_id
            ],
        )

    async def timetable(self, student_id: int, term_id: int | None) -> Timetable:
        """The week: one entry per meeting of every enrolled section, by day and start."""
        async with self.db.transaction(write=False) as conn:
            term_id, sections = await _my_sections(conn, student_id, term_id)
        slots = [
            TimetableSlot(
                **m.model_dump(),
                section_id=s.id,
                course_code=s.course_code,
                title_ko=s.title_ko,
                title_en=s.title_en,
            )
            for s in sections
            for m in s.meeting_times
        ]
        slots.sort(key=lambda slot: (slot.day, slot.start))
        return Timetable(term_id=term_id, credits=sum(s.credits for s in sections), slots=slots)

    async def basket(self, student_id: int, term_id: int | None) -> Basket:
        async with self.db.transaction(write=False) as conn:
            term_id = term_id or await catalog_reads.current_term_id(conn)
            ids = await basket.section_ids(conn, student_id, term_id)
            sections = await catalog_reads.section_views(conn, ids)
        return Basket(term_id=term_id, credits=sum(s.credits for s in sections), sections=sections)

    async def add_to_basket(self, student_id: int, section_id: int) -> Basket:
        term_id = await self.db.run(
            lambda conn: basket.add(conn, self.catalog_cache, student_id, section_id, self.clock())
        )
        return await self.basket(student_id, term_id)

    async def remove_from_basket(self, student_id: int, section_id: int) -> None:
        await self.db.run(lambda conn: basket.remove(conn, student_id, section_id))

    # --- inside the caller's transaction -------------------------------------------------

    async def enroll_in(
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
        """Enroll (or queue, if asked), the student's row locked first so that the rules read a
        state that cannot change under them. `enforce_window` is False only for the
        registrar's own paths (auto-enrollment), which skip the window and the waiting room
        alike."""
        now = self.clock()
        student = await student_facts.lock_student(conn, self.catalog_cache, student_id)
        section = await self.catalog_cache.section(conn, section_id)
        term = await self.catalog_cache.term(conn, section.term_id)
        held = await student_facts.held_sections(conn, self.catalog_cache, student_id, term.id)
        completed = await student_facts.completed_among(conn, student_id, section.prerequisites)
        refusal = rules.check_enroll(
            student, term, section, held, completed, admission, now, enforce_window=enforce_window
        )
        if refusal is not None:
            raise refusal

        enrollment_id = await seats.claim(conn, student, section, source, actor_id, now)
        if enrollment_id is not None:
            return Enrolled(section_id, enrollment_id)

        # Full, by the claim. Deciding to queue happens under the section's row lock, which a
        # drop also takes before it looks at the waitlist: so either the drop sees this entry
        # and promotes it, or this request sees the seat the drop freed and takes it. A plain
        # refusal needs no lock (it is simply ordered before the drop), and must not take one:
        # in the rush, refusals outnumber seats many times over.
        found = await seats.seats_now(conn, section_id, lock=waitlist)
        refusal = rules.check_seats(section_id, found.status, found.capacity, found.enrolled)
        if refusal is None:  # a seat was freed after the claim looked
            student = await student_facts.lock_student(conn, self.catalog_cache, student_id)
            enrollment_id = await seats.claim(conn, student, section, source, actor_id, now)
            if enrollment_id is not None:
                return Enrolled(section_id, enrollment_id)
            refusal = rules.section_full(section_id, found.capacity)
        if not waitlist or not isinstance(refusal, SectionFull):
            raise refusal
        return await self._join_waitlist(conn, student_id, section_id, actor_id)

    async def drop_in(
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
        # Rows are locked students first (in id order), then the section: the student who
        # will most likely be promoted (first in line now) is locked with the one dropping,
        # before the section, as that student's own requests take them. The other way round,
        # a drop and that student's click would deadlock.
        head = await waitlist.peek_head(conn, section_id)
        in_order = sorted({student_id} if head is None else {student_id, head})
        locked = {}
        for each in in_order:
            try:
                locked[each] = await student_facts.lock_student(conn, self.catalog_cache, each)
            except NotFound:
                if each == student_id:
                    raise
                # the head was deleted since the peek: the waitlist moved without them
        student = locked[student_id]
        section = await self.catalog_cache.section(conn, section_id)
        if enforce_window:
            term = await self.catalog_cache.term(conn, section.term_id)
            if (refusal := rules.check_drop(student, term, admission, now)) is not None:
                raise refusal
        promoted = await seats.release(conn, self.catalog_cache, student_id, section, now, actor_id)
        if promoted is None:
            if not await waitlist.leave(conn, student_id, section_id):
                raise NotEnrolled(section_id=section_id)
            await audit.record(
                conn,
                now,
                "leave_waitlist",
                actor_id=actor_id,
                student_id=student_id,
                section_id=section_id,
            )
            return LeftWaitlist(section_id)
        return Dropped(section_id, promoted[0] if promoted else None)

    async def drop_everything_in(
        self, conn: AsyncConnection, student_id: int, actor_id: int | None
    ) -> list[int]:
        """Drop every enrollment of the student, the normal way (waitlists move up), whatever
        the window: before deleting them. The sections dropped."""
        # The lock first: an enroll of the student's own committing after we read what they
        # hold would otherwise be cascaded away with its seat still counted.
        await student_facts.lock_student(conn, self.catalog_cache, student_id)
        held = await reads.held_anywhere(conn, student_id)
        for section_id in held:
            await self.drop_in(
                conn, student_id, section_id, actor_id=actor_id, enforce_window=False
            )
        return held

    async def fill_seats_in(
        self, conn: AsyncConnection, section_id: int, actor_id: int | None
    ) -> list[int]:
        """After a change to a section in this transaction (more seats, reopened), hand its
        free seats to the waitlist. The change is not committed yet, so it is read through a
        cache of this transaction's own: it must not reach the shared one."""
        private = CatalogCache()
        section = await private.section(conn, section_id)
        return await seats.fill_from_waitlist(conn, private, section, self.clock(), actor_id)

    # --- after a commit --------------------------------------------------------------------

    async def clear_full_flags(self, section_ids: Iterable[int]) -> None:
        """After a commit that may have freed seats in these sections (a drop, more seats, a
        reopening, a deleted student, a re-import): their attempts reach the database again."""
        for section_id in section_ids:
            await self.full.clear(section_id)

    # --- the rush's enroll (PostgreSQL) -------------------------------------------------------

    async def enroll_optimistically(
        self, student_id: int, section_id: int, admission: Admission | None = None
    ) -> Enrolled:
        """Read the student's facts without a lock, judge them, then claim in one
        autocommitted statement that is made only if what was judged is still current;
        judged again if not. SQLite (one writer at a time) and a student whose state keeps
        moving take the locked path.

        If the connection breaks (a restart, a failover), the attempt is made once more on a
        new connection; if it broke after the claim was sent, whether the claim committed is
        looked up first, so the student is told what happened either way."""
        claim_sent = reconnected = False
        tries = 0 if self.db.is_sqlite else OPTIMISTIC_ATTEMPTS
        while tries > 0:
            tries -= 1
            try:
                async with self.db.autocommit() as conn:
                    if claim_sent:
                        found = await reads.enrollment_id(conn, student_id, section_id)
                        if found is not None:
                            return Enrolled(section_id, found)
                    claim_sent = False
                    now = self.clock()
                    try:
                        facts = await student_facts.read_unlocked(
                            conn, self.catalog_cache, student_id, section_id
                        )
                    except StaleFacts:
                        break  # the catalog keeps moving: the locked path
                    student, section, term, held, completed = facts
                    refusal = rules.check_enroll(
                        student, term, section, held, completed, admission, now
                    )
                    if refusal is not None:
                        raise refusal
                    claim_sent = True
                    try:
                        enrollment_id = await seats.claim(
                            conn,
                            student,
                            section,
                            "live",
                            student_id,
                            now,
                            catalog_version=self.catalog_cache.version,
                        )
                    except StaleFacts:
                        claim_sent = False  # it was refused: nothing was written
                        continue  # the student or the catalog moved since the read: again
                    claim_sent = False
                    if enrollment_id is not None:
                        return Enrolled(section_id, enrollment_id)
                    found_seats = await seats.seats_now(conn, section_id, lock=False)
                    refusal = rules.check_seats(
                        section_id, found_seats.status, found_seats.capacity, found_seats.enrolled
                    )
                    if refusal is not None:
                        raise refusal
                    # a seat freed after the claim's snapshot: try again
            except (DBAPIError, OSError) as error:
                if isinstance(error, DBAPIError) and is_retryable(error):
                    claim_sent = False  # a deadlock (with a drop promoting this student)
                    continue
                if reconnected or not is_disconnect(error):
                    if claim_sent:
                        raise CommitUnknown() from error
                    raise
                reconnected, tries = True, tries + 1
                await asyncio.sleep(random.uniform(0.05, 0.2))  # let the server come back

        async def locked(conn: AsyncConnection) -> Enrolled:
            outcome = await self.enroll_in(
                conn, student_id, section_id, actor_id=student_id, admission=admission
            )
            assert isinstance(outcome, Enrolled)  # no waitlist was asked for
            return outcome

        return await self.db.run(locked)

    async def _join_waitlist(
        self, conn: AsyncConnection, student_id: int, section_id: int, actor_id: int | None
    ) -> Waitlisted:
        now = self.clock()
        joined = await waitlist.join(conn, student_id, section_id, now)
        position = await waitlist.position(conn, student_id, section_id)
        if not joined:
            raise AlreadyWaitlisted(section_id=section_id, position=position)
        await audit.record(
            conn,
            now,
            "waitlist",
            actor_id=actor_id,
            student_id=student_id,
            section_id=section_id,
            detail={"position": position},
        )
        return Waitlisted(section_id, position)


def _answer(outcome: Enrolled | Waitlisted) -> Outcome:
    if isinstance(outcome, Enrolled):
        out = EnrollOut(
            status="enrolled", section_id=outcome.section_id, enrollment_id=outcome.enrollment_id
        )
        return Outcome(201, out.model_dump())
    out = EnrollOut(status="waitlisted", section_id=outcome.section_id, position=outcome.position)
    return Outcome(202, out.model_dump())


async def _my_sections(
    conn: AsyncConnection, student_id: int, term_id: int | None
) -> tuple[int, list[SectionOut]]:
    """The term asked for (else the current one) and the student's sections in it."""
    term_id = term_id or await catalog_reads.current_term_id(conn)
    ids = await reads.my_section_ids(conn, student_id, term_id)
    return term_id, await catalog_reads.section_views(conn, ids)
