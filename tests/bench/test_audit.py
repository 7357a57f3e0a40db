"""The audit catches what it is for: planted oversells, doubles and lost acknowledgements."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.bench.audit import audit_term
from sugang.runtime import Services
from tests.support.factories import Factory


async def enroll(services: Services, student: int, section: int) -> None:
    async def work(conn: AsyncConnection) -> object:
        return await services.enrollment.enroll_in(conn, student, section)

    await services.db.run(work)


async def plant_enrollment(services: Services, student: int, section: int) -> None:
    """Write a row behind the service's back, as a bug would."""
    async with services.db.transaction() as conn:
        await conn.execute(
            text(
                "INSERT INTO enrollments (term_id, student_id, section_id, course_id, source,"
                " created_at) SELECT term_id, :student, id, course_id, 'planted', CURRENT_TIMESTAMP"
                " FROM sections WHERE id = :section"
            ),
            {"student": student, "section": section},
        )


async def test_a_clean_term_passes(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    student = await factory.student(number="20270101")
    await enroll(services, student, section)

    async with services.db.transaction(write=False) as conn:
        report = await audit_term(conn, term, [("20270101", section)])

    assert report.ok


async def test_planted_overbooking_is_caught(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    first = await factory.student(number="20270201")
    second = await factory.student(number="20270202")
    await enroll(services, first, section)
    await plant_enrollment(services, second, section)

    async with services.db.transaction(write=False) as conn:
        report = await audit_term(conn, term, [("20270201", section), ("20270202", section)])

    assert not report.ok
    assert report.oversold == {section: 1}
    assert report.counter_mismatches == {section: (1, 2)}


async def test_planted_phantom_enrollment_is_caught(services: Services, factory: Factory) -> None:
    """A row no client was told about. (A planted double enrollment cannot be written at all:
    the UNIQUE constraint refuses it, which is the point of having it.)"""
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student(number="20270301")
    await plant_enrollment(services, student, section)
    async with services.db.transaction() as conn:
        await conn.execute(text("UPDATE sections SET enrolled = 1 WHERE id = :id"), {"id": section})

    async with services.db.transaction(write=False) as conn:
        report = await audit_term(conn, term, [])

    assert report.unacknowledged_rows == [("20270301", section)]
    assert not report.ok


async def test_lost_acknowledgement_is_caught(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term)
    await factory.student(number="20270401")

    async with services.db.transaction(write=False) as conn:
        report = await audit_term(conn, term, [("20270401", section)])

    assert report.lost_acknowledgements == [("20270401", section)]
    assert not report.ok
