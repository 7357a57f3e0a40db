"""Invariants under concurrent requests, on real databases (many connections at once).

Plain enrolls run both ways: in a transaction holding the student's lock, and optimistically
(one autocommitted claim checked against the student's version; on SQLite that is the
transaction again)."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.errors import SugangError
from sugang.runtime import Services
from tests.support.factories import Factory

pytestmark = pytest.mark.slow  # runs a load: hundreds of attempts at once

Attempt = Callable[..., Awaitable[str]]


@pytest.fixture(params=["locked", "optimistic"])
def attempt(request: pytest.FixtureRequest) -> Attempt:
    optimistic = request.param == "optimistic"

    async def attempt(
        services: Services, student: int, section: int, waitlist: bool = False
    ) -> str:
        async def work(conn: AsyncConnection) -> object:
            return await services.enrollment.enroll_in(conn, student, section, waitlist=waitlist)

        try:
            if optimistic and not waitlist:
                outcome: object = await services.enrollment.enroll_optimistically(student, section)
            else:
                outcome = await services.db.run(work)
        except SugangError as refusal:
            return refusal.code
        return type(outcome).__name__

    return attempt


async def drop(services: Services, student: int, section: int) -> str:
    try:
        await services.db.run(lambda conn: services.enrollment.drop_in(conn, student, section))
    except SugangError as refusal:
        return refusal.code
    return "dropped"


async def assert_invariants(services: Services) -> None:
    async with services.db.transaction(write=False) as conn:
        bad_counters = (
            await conn.execute(
                text(
                    """
                    SELECT s.id FROM sections s
                    LEFT JOIN enrollments e ON e.section_id = s.id
                    GROUP BY s.id, s.enrolled, s.capacity
                    HAVING count(e.id) <> s.enrolled OR count(e.id) > s.capacity
                    """
                )
            )
        ).all()
        duplicates = (
            await conn.execute(
                text(
                    "SELECT student_id, course_id FROM enrollments"
                    " GROUP BY student_id, term_id, course_id HAVING count(*) > 1"
                )
            )
        ).all()
        both = (
            await conn.execute(
                text(
                    "SELECT w.student_id FROM waitlist_entries w JOIN enrollments e"
                    " ON e.student_id = w.student_id AND e.section_id = w.section_id"
                )
            )
        ).all()
    assert bad_counters == [] and duplicates == [] and both == []


async def test_many_students_never_oversell_a_section(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=10)
    students = await factory.students(60)

    outcomes = Counter(await asyncio.gather(*(attempt(services, s, section) for s in students)))

    assert outcomes == {"Enrolled": 10, "SECTION_FULL": 50}
    assert await factory.seats(section) == (10, 10)
    await assert_invariants(services)


async def test_one_student_repeating_a_request_enrolls_once(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()

    outcomes = Counter(
        await asyncio.gather(*(attempt(services, student, section) for _ in range(12)))
    )

    assert outcomes == {"Enrolled": 1, "ALREADY_ENROLLED": 11}
    assert await factory.seats(section) == (1, 1)


async def test_one_student_racing_for_clashing_sections_gets_one(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    sections = [await factory.section(term, meets="Mon 09:00-10:15") for _ in range(8)]
    student = await factory.student()

    outcomes = Counter(await asyncio.gather(*(attempt(services, student, s) for s in sections)))

    assert outcomes == {"Enrolled": 1, "TIME_CONFLICT": 7}
    await assert_invariants(services)


async def test_one_student_racing_for_two_sections_of_a_course_gets_one(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    course = await factory.course()
    sections = [await factory.section(term, course=course, number=n) for n in range(1, 6)]
    student = await factory.student()

    outcomes = Counter(await asyncio.gather(*(attempt(services, student, s) for s in sections)))

    assert outcomes == {"Enrolled": 1, "ALREADY_ENROLLED": 4}


async def test_one_student_racing_past_the_credit_limit_stays_within_it(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    sections = [
        await factory.section(
            term,
            credits=3,
            meets=f"{days[i % 5]} {9 + i // 5:02d}:00-{9 + i // 5:02d}:50",
        )
        for i in range(10)
    ]
    student = await factory.student(max_credits=9)

    outcomes = Counter(await asyncio.gather(*(attempt(services, student, s) for s in sections)))

    assert outcomes == {"Enrolled": 3, "CREDIT_LIMIT": 7}
    assert await factory.count("enrollments", student_id=student) == 3


async def test_drops_and_enrolls_racing_keep_counters_and_waitlists_straight(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=5)
    holders = await factory.students(5)
    waiting = await factory.students(5)
    latecomers = await factory.students(10)
    for s in holders:
        await attempt(services, s, section)
    for s in waiting:
        await attempt(services, s, section, waitlist=True)

    await asyncio.gather(
        *(drop(services, s, section) for s in holders),
        *(attempt(services, s, section, waitlist=True) for s in latecomers),
    )

    await assert_invariants(services)
    enrolled = await factory.count("enrollments", section_id=section)
    assert enrolled == 5
    for s in waiting:  # waitlisted before any seat freed: each got one, in order
        assert await factory.count("enrollments", student_id=s) == 1


async def test_crossed_drops_that_promote_each_other_both_complete(
    services: Services, factory: Factory, attempt: Attempt
) -> None:
    term = await factory.term()
    a = await factory.section(term, capacity=1, meets="Mon 09:00-10:00")
    b = await factory.section(term, capacity=1, meets="Tue 09:00-10:00")
    x, y = await factory.students(2)
    await attempt(services, x, a)
    await attempt(services, y, b)
    await attempt(services, x, b, waitlist=True)
    await attempt(services, y, a, waitlist=True)

    # X's drop promotes Y while Y's drop promotes X: a lock cycle the database breaks and the
    # service retries.
    outcomes = await asyncio.gather(drop(services, x, a), drop(services, y, b))

    assert outcomes == ["dropped", "dropped"]
    assert await factory.count("enrollments", student_id=x, section_id=b) == 1
    assert await factory.count("enrollments", student_id=y, section_id=a) == 1
    await assert_invariants(services)
