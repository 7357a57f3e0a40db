"""Enroll, drop, waitlist and promotion through the service, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.schemas import WindowIn
from sugang.clock import FixedClock
from sugang.enrollment.service import Dropped, Enrolled, LeftWaitlist, Waitlisted
from sugang.errors import (
    AlreadyEnrolled,
    AlreadyWaitlisted,
    CreditLimit,
    NotEnrolled,
    NotFound,
    PrerequisiteMissing,
    SectionClosed,
    SectionFull,
    SugangError,
    TimeConflict,
    WindowClosed,
)
from sugang.runtime import Services
from tests.support.factories import Factory


async def enroll(services: Services, student: int, section: int, **kw: object) -> object:
    async def work(conn: AsyncConnection) -> object:
        return await services.enrollment.enroll_in(conn, student, section, **kw)  # type: ignore[arg-type]

    return await services.db.run(work)


async def drop(services: Services, student: int, section: int) -> object:
    return await services.db.run(
        lambda conn: services.enrollment.drop_in(conn, student, section, actor_id=student)
    )


async def test_enroll_takes_a_seat_and_audits_it(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=2)
    student = await factory.student()

    outcome = await enroll(services, student, section)

    assert isinstance(outcome, Enrolled)
    assert await factory.seats(section) == (1, 1)
    assert await factory.audit_actions(student) == [("enroll", "ok")]


@pytest.mark.parametrize(
    ("arrange", "refusal"),
    [
        ("full", SectionFull),
        ("closed", SectionClosed),
        ("same_course", AlreadyEnrolled),
        ("time_conflict", TimeConflict),
        ("credit_limit", CreditLimit),
        ("prerequisite", PrerequisiteMissing),
        ("window", WindowClosed),
    ],
)
async def test_each_refusal_has_its_code_and_writes_nothing(
    services: Services, factory: Factory, arrange: str, refusal: type[SugangError]
) -> None:
    windows = (
        [
            WindowIn(
                year_group=4,
                opens_at=factory.now - timedelta(hours=1),
                closes_at=factory.now + timedelta(hours=1),
            )
        ]
        if arrange == "window"
        else None
    )
    term = await factory.term(windows=windows)
    student = await factory.student(year=3, max_credits=6)
    held_course = await factory.course()
    held = await factory.section(term, course=held_course, meets="Mon 09:00-10:15")
    if arrange != "window":
        await enroll(services, student, held)
    other = await factory.student()
    target = {
        "full": lambda: factory.section(term, capacity=0),
        "closed": lambda: factory.section(term, status="closed"),
        "same_course": lambda: factory.section(term, course=held_course, number=2),
        "time_conflict": lambda: factory.section(term, meets="Mon 10:00-11:00"),
        "credit_limit": lambda: factory.section(term, credits=4),
        "prerequisite": lambda: factory.section(term, prerequisites=[held_course]),
        "window": lambda: factory.section(term),
    }[arrange]
    section = await target()
    before = (
        await factory.count("enrollments"),
        await factory.count("waitlist_entries"),
        await factory.count("audit_log"),
        await factory.seats(section),
    )

    with pytest.raises(refusal) as raised:
        await enroll(services, student, section)

    assert raised.value.code == refusal.code
    assert set(raised.value.messages()) == {"ko", "en"}
    after = (
        await factory.count("enrollments"),
        await factory.count("waitlist_entries"),
        await factory.count("audit_log"),
        await factory.seats(section),
    )
    assert after == before
    del other


async def test_unknown_section_is_not_found(services: Services, factory: Factory) -> None:
    await factory.term()
    student = await factory.student()
    with pytest.raises(NotFound):
        await enroll(services, student, 999_999)


async def test_full_section_with_waitlist_returns_positions_in_order(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    first, second, third = await factory.students(3)
    await enroll(services, first, section)

    assert await enroll(services, second, section, waitlist=True) == Waitlisted(section, 1)
    assert await enroll(services, third, section, waitlist=True) == Waitlisted(section, 2)
    with pytest.raises(AlreadyWaitlisted) as raised:
        await enroll(services, third, section, waitlist=True)
    assert raised.value.detail["position"] == 2
    assert await factory.seats(section) == (1, 1)


async def test_drop_hands_the_seat_to_the_head_of_the_waitlist(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    holder, waiting = await factory.students(2)
    await enroll(services, holder, section)
    await enroll(services, waiting, section, waitlist=True)

    outcome = await drop(services, holder, section)

    assert outcome == Dropped(section, promoted_student_id=waiting)
    assert await factory.seats(section) == (1, 1)
    assert await factory.count("enrollments", student_id=waiting, section_id=section) == 1
    assert await factory.count("waitlist_entries") == 0
    assert ("promote", "ok") in await factory.audit_actions(waiting)


async def test_promotion_skips_a_student_who_now_clashes_and_audits_why(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1, meets="Tue 09:00-10:15")
    clash = await factory.section(term, meets="Tue 09:30-10:30")
    holder, clashing, next_in_line = await factory.students(3)
    await enroll(services, holder, section)
    await enroll(services, clashing, section, waitlist=True)
    await enroll(services, next_in_line, section, waitlist=True)
    await enroll(services, clashing, clash)  # now the waitlisted seat would clash

    outcome = await drop(services, holder, section)

    assert outcome == Dropped(section, promoted_student_id=next_in_line)
    assert ("promote", "TIME_CONFLICT") in await factory.audit_actions(clashing)
    assert await factory.count("waitlist_entries") == 0
    assert await factory.seats(section) == (1, 1)


async def test_drop_with_nobody_waiting_frees_the_seat(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    student = await factory.student()
    await enroll(services, student, section)

    assert await drop(services, student, section) == Dropped(section, None)
    assert await factory.seats(section) == (0, 0)


async def test_drop_of_a_waitlist_entry_leaves_the_waitlist(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=0)
    student = await factory.student()
    await enroll(services, student, section, waitlist=True)

    assert await drop(services, student, section) == LeftWaitlist(section)
    assert await factory.count("waitlist_entries") == 0


async def test_drop_of_something_not_held_is_refused(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()
    with pytest.raises(NotEnrolled):
        await drop(services, student, section)


async def test_drop_outside_the_window_is_refused(
    services: Services, factory: Factory, clock: FixedClock
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()
    await enroll(services, student, section)
    clock.now += timedelta(days=2)  # past the enrollment window, before add/drop

    with pytest.raises(WindowClosed):
        await drop(services, student, section)
    assert await factory.seats(section) == (1, 1)


async def test_auto_source_ignores_the_window(services: Services, factory: Factory) -> None:
    term = await factory.term(windows=[])
    section = await factory.section(term)
    student = await factory.student()
    outcome = await enroll(services, student, section, source="auto", enforce_window=False)
    assert isinstance(outcome, Enrolled)
    assert await factory.audit_actions(student) == [("enroll_auto", "ok")]
