"""The registrar's flows across domains: a section edit hands new seats to the waitlist."""

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.schemas import SectionPatch
from sugang.errors import (
    CapacityBelowEnrolled,
)
from sugang.runtime import Services
from tests.support.factories import Factory


async def test_raising_capacity_promotes_the_waitlist_at_once(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    students = await factory.students(4)
    await enroll(services, students[0], section)
    for s in students[1:]:
        await enroll(services, s, section, waitlist=True)

    await services.registrar.update_section(section, SectionPatch(capacity=3), None)

    assert await factory.seats(section) == (3, 3)
    assert await factory.count("waitlist_entries") == 1


async def test_capacity_cannot_drop_below_enrolled(services: Services, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=2)
    first, second = await factory.students(2)
    await enroll(services, first, section)
    await enroll(services, second, section)

    with pytest.raises(CapacityBelowEnrolled):
        await services.registrar.update_section(section, SectionPatch(capacity=1), None)


async def enroll(services: Services, student: int, section: int, **kw: object) -> object:
    async def work(conn: AsyncConnection) -> object:
        return await services.enrollment.enroll_in(conn, student, section, **kw)  # type: ignore[arg-type]

    return await services.db.run(work)
