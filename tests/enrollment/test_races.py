"""Interleavings READ COMMITTED allows, forced deterministically by pausing inside the service.

PostgreSQL only: SQLite runs one writer at a time, so these orders cannot happen there (and a
second writer started while one is paused would simply wait for it).
"""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog import cache as cache_module
from sugang.catalog import store as catalog
from sugang.catalog.schemas import SectionPatch, TermPatch, WindowIn
from sugang.enrollment import seats, student_facts, waitlist
from sugang.enrollment.service import Dropped, Enrolled
from sugang.errors import SugangError
from sugang.runtime import Services
from sugang.students import store as students
from sugang.students.schemas import StudentPatch
from tests.support.factories import Factory

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


async def enroll(services: Services, student: int, section: int, waitlist: bool = False) -> str:
    async def work(conn: AsyncConnection) -> object:
        return await services.enrollment.enroll_in(conn, student, section, waitlist=waitlist)

    try:
        return type(await services.db.run(work)).__name__
    except SugangError as refusal:
        return refusal.code


async def seats_and_queue(services: Services, section: int) -> tuple[int, list[int], list[int]]:
    async with services.db.transaction(write=False) as conn:
        counter = await conn.scalar(
            text("SELECT enrolled FROM sections WHERE id = :s"), {"s": section}
        )
        rows = await conn.execute(
            text("SELECT student_id FROM enrollments WHERE section_id = :s"), {"s": section}
        )
        queue = await conn.execute(
            text("SELECT student_id FROM waitlist_entries WHERE section_id = :s ORDER BY id"),
            {"s": section},
        )
        return int(counter or 0), [r[0] for r in rows], [r[0] for r in queue]


async def test_a_waitlist_join_during_a_drop_never_strands_a_free_seat(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    holder, latecomer = await factory.students(2)
    assert await enroll(services, holder, section) == "Enrolled"
    service = services.enrollment
    fill = seats.fill_from_waitlist
    paused, resume = asyncio.Event(), asyncio.Event()

    async def fill_then_pause(*args: Any, **kwargs: Any) -> list[int]:
        promoted = await fill(*args, **kwargs)
        paused.set()  # the drop freed the seat and found no one waiting; not committed yet
        await resume.wait()
        return promoted

    monkeypatch.setattr(seats, "fill_from_waitlist", fill_then_pause)
    dropping = asyncio.create_task(
        services.db.run(lambda conn: service.drop_in(conn, holder, section))
    )
    await paused.wait()
    monkeypatch.setattr(seats, "fill_from_waitlist", fill)
    joining = asyncio.create_task(enroll(services, latecomer, section, waitlist=True))
    await asyncio.sleep(0.3)  # the latecomer is now waiting on the section's row lock
    resume.set()
    await dropping

    assert await joining == "Enrolled"
    assert await seats_and_queue(services, section) == (1, [latecomer], [])


async def test_a_students_own_enroll_during_their_deletion_keeps_counters_true(
    services: Services, factory: Factory, backend: str
) -> None:
    term = await factory.term()
    first, second = await factory.section(term), await factory.section(term)
    student = await factory.student()
    assert await enroll(services, student, first) == "Enrolled"
    service = services.enrollment
    drop = service.drop_in
    racing: list[asyncio.Task[str]] = []

    async def drop_while_the_student_clicks(*args: Any, **kwargs: Any) -> Any:
        if not racing:
            racing.append(asyncio.create_task(enroll(services, student, second)))
            await asyncio.sleep(0.3)
        return await drop(*args, **kwargs)

    service.drop_in = drop_while_the_student_clicks  # type: ignore[method-assign]
    await services.registrar.delete_student(student, None)
    service.drop_in = drop  # type: ignore[method-assign]

    assert await racing[0] == "NOT_FOUND"  # it waited for the deletion, then found no student
    assert await seats_and_queue(services, second) == (0, [], [])
    assert await seats_and_queue(services, first) == (0, [], [])


async def test_a_slow_read_of_an_old_catalog_is_not_cached_under_the_new_version(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=50)
    early, after_close, later = await factory.students(3)
    load_term = cache_module._load_term
    paused, resume = asyncio.Event(), asyncio.Event()

    async def slow_first_load(conn: AsyncConnection, term_id: int) -> Any:
        loaded = await load_term(conn, term_id)
        if not paused.is_set():
            paused.set()
            await resume.wait()
        return loaded

    monkeypatch.setattr(cache_module, "_load_term", slow_first_load)
    started_before_close = asyncio.create_task(enroll(services, early, section))
    await paused.wait()
    now = services.clock()
    closed = [WindowIn(opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))]
    async with services.db.transaction() as conn:
        await catalog.update_term(conn, term, TermPatch(enrollment_windows=closed))
    assert await enroll(services, after_close, section) == "WINDOW_CLOSED"
    resume.set()
    await started_before_close  # it read the term before the close: either answer is fair

    assert await enroll(services, later, section) == "WINDOW_CLOSED"


async def test_enrolling_in_a_section_deleted_meanwhile_is_not_found(
    services: Services, factory: Factory, backend: str
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()
    read_section = services.catalog_cache.section

    async def read_then_registrar_deletes(conn: AsyncConnection, section_id: int) -> Any:
        info = await read_section(conn, section_id)
        async with services.db.transaction() as other:
            await catalog.delete_section(other, section_id)
        return info

    services.catalog_cache.section = read_then_registrar_deletes  # type: ignore[method-assign]
    assert await enroll(services, student, section) == "NOT_FOUND"


async def pause_after_the_optimistic_read(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """The next optimistic enroll stops between reading the student's facts and claiming."""
    read = student_facts.read_unlocked
    paused, resume = asyncio.Event(), asyncio.Event()

    async def read_then_pause(*args: Any, **kwargs: Any) -> Any:
        facts = await read(*args, **kwargs)
        if not paused.is_set():
            paused.set()
            await resume.wait()
        return facts

    monkeypatch.setattr(student_facts, "read_unlocked", read_then_pause)
    return paused, resume


async def enroll_optimistically(services: Services, student: int, section: int) -> str:
    try:
        await services.enrollment.enroll_optimistically(student, section)
    except SugangError as refusal:
        return refusal.code
    return "Enrolled"


async def test_an_optimistic_claim_judged_before_a_clashing_enroll_is_judged_again(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    term = await factory.term()
    first = await factory.section(term, meets="Mon 09:00-10:15")
    clashing = await factory.section(term, meets="Mon 09:30-10:45")
    student = await factory.student()
    paused, resume = await pause_after_the_optimistic_read(services, monkeypatch)

    judging = asyncio.create_task(enroll_optimistically(services, student, first))
    await paused.wait()  # it judged: no clash yet
    assert await enroll(services, student, clashing) == "Enrolled"
    resume.set()

    assert await judging == "TIME_CONFLICT"  # its claim saw a newer version and judged again
    assert await seats_and_queue(services, first) == (0, [], [])
    assert await seats_and_queue(services, clashing) == (1, [student], [])


async def test_a_credit_limit_lowered_while_an_optimistic_enroll_judges_holds(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    term = await factory.term()
    section = await factory.section(term, credits=3)
    student = await factory.student(max_credits=18)
    paused, resume = await pause_after_the_optimistic_read(services, monkeypatch)

    judging = asyncio.create_task(enroll_optimistically(services, student, section))
    await paused.wait()
    async with services.db.transaction() as conn:
        await students.update_student(conn, student, StudentPatch(max_credits=2), services.clock)
    resume.set()

    assert await judging == "CREDIT_LIMIT"
    assert await seats_and_queue(services, section) == (0, [], [])


async def test_a_meeting_time_moved_while_an_optimistic_enroll_judges_is_seen(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    term = await factory.term()
    held = await factory.section(term, meets="Mon 09:00-10:15")
    moving = await factory.section(term, meets="Tue 09:00-10:15")
    student = await factory.student()
    assert await enroll(services, student, held) == "Enrolled"
    paused, resume = await pause_after_the_optimistic_read(services, monkeypatch)

    judging = asyncio.create_task(enroll_optimistically(services, student, moving))
    await paused.wait()  # judged on Tuesday: no clash
    monday = SectionPatch(meeting_times=[{"day": "Mon", "start": "09:30", "end": "10:45"}])
    await services.registrar.update_section(moving, monday, None)
    resume.set()

    assert await judging == "TIME_CONFLICT"  # the catalog moved: judged again, on Monday
    assert await seats_and_queue(services, moving) == (0, [], [])


async def test_deleting_a_term_while_a_claim_commits_keeps_the_enrollment(
    services: Services, factory: Factory, backend: str
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()
    deleting: asyncio.Task[None] | None = None
    async with services.db.transaction() as conn:
        enrolled = await services.enrollment.enroll_in(conn, student, section)
        # The registrar's check runs now: it cannot see the claim, which has not committed.
        deleting = asyncio.create_task(services.registrar.delete_term(term))
        await asyncio.sleep(0.3)  # the deletion is now waiting on the term's row
    with pytest.raises(SugangError) as refused:
        await deleting

    assert refused.value.code == "CONFLICT"
    assert await seats_and_queue(services, section) == (1, [student], [])
    assert isinstance(enrolled, Enrolled)


async def test_a_drop_promoting_a_student_waits_for_that_students_own_claim_not_a_deadlock(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The student at the head of the waitlist clicks "join the waitlist" again as the holder
    drops. Both lock the student's row and the section's; taken in opposite orders, PostgreSQL
    would kill one of them after a second (deadlock_timeout). Neither transaction here is
    retried, so a deadlock fails the test."""
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    holder, waiting = await factory.students(2)
    assert await enroll(services, holder, section) == "Enrolled"
    assert await enroll(services, waiting, section, waitlist=True) == "Waitlisted"
    lock_student = student_facts.lock_student
    locked, resume = asyncio.Event(), asyncio.Event()

    async def lock_then_pause(conn: AsyncConnection, cache: Any, student_id: int) -> Any:
        info = await lock_student(conn, cache, student_id)
        if student_id == waiting and not locked.is_set():
            locked.set()  # the waiting student's own request holds their row
            await resume.wait()
        return info

    async def own_click() -> str:
        try:
            async with services.db.transaction() as conn:
                await services.enrollment.enroll_in(conn, waiting, section, waitlist=True)
        except SugangError as refusal:
            return refusal.code
        return "Enrolled"

    async def drop() -> object:
        async with services.db.transaction() as conn:
            return await services.enrollment.drop_in(conn, holder, section)

    monkeypatch.setattr(student_facts, "lock_student", lock_then_pause)
    clicking = asyncio.create_task(own_click())
    await locked.wait()
    dropping = asyncio.create_task(drop())
    await asyncio.sleep(0.3)  # the drop now waits for a row the click holds
    resume.set()

    assert await clicking == "ALREADY_WAITLISTED"  # the seat was still the holder's
    dropped = await dropping
    assert isinstance(dropped, Dropped) and dropped.promoted_student_id == waiting
    assert await seats_and_queue(services, section) == (1, [waiting], [])


async def test_a_drop_goes_on_when_the_head_of_the_waitlist_is_deleted_as_it_starts(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drop reads who is first in line, then that student is deleted before the drop
    locks them: the drop neither fails nor promotes a student who is gone."""
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    holder, waiting = await factory.students(2)
    assert await enroll(services, holder, section) == "Enrolled"
    assert await enroll(services, waiting, section, waitlist=True) == "Waitlisted"
    peek_head = waitlist.peek_head

    async def peek_then_deleted(conn: AsyncConnection, section_id: int) -> int | None:
        head = await peek_head(conn, section_id)
        async with services.db.transaction() as other:
            await students.delete_student(other, waiting, services.clock)
        return head

    monkeypatch.setattr(waitlist, "peek_head", peek_then_deleted)
    async with services.db.transaction() as conn:
        dropped = await services.enrollment.drop_in(conn, holder, section)
    assert isinstance(dropped, Dropped) and dropped.promoted_student_id is None
    assert await seats_and_queue(services, section) == (0, [], [])
