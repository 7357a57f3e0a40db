"""The per-process catalog cache: dropped whenever what the rules read changes, kept when only
seats change."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.schemas import SectionPatch, parse_meeting_times
from sugang.errors import (
    SectionClosed,
    TimeConflict,
)
from sugang.runtime import Services
from tests.support.factories import Factory


async def test_rules_see_a_meeting_time_change_made_after_they_were_cached(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    held = await factory.section(term, meets="Wed 09:00-10:00")
    target = await factory.section(term, meets="Thu 09:00-10:00")
    student = await factory.student()
    await enroll(services, student, held)
    await services.db.run(lambda conn: services.catalog_cache.section(conn, target))

    await services.registrar.update_section(
        target, SectionPatch(meeting_times=parse_meeting_times("Wed 09:30-10:30")), None
    )

    with pytest.raises(TimeConflict):
        await enroll(services, student, target)


async def test_capacity_edits_keep_the_catalog_cache_but_closing_a_section_does_not(
    services: Services, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)

    async def version() -> int:
        async with services.db.transaction(write=False) as conn:
            return int(await conn.scalar(text("SELECT version FROM catalog_state")) or 0)

    async def patch(change: SectionPatch) -> None:
        await services.registrar.update_section(section, change, None)

    before = await version()
    await patch(SectionPatch(capacity=40))
    assert await version() == before
    await patch(SectionPatch(status="closed"))
    assert await version() == before + 1
    student = await factory.student()
    with pytest.raises(SectionClosed):
        await enroll(services, student, section)


async def enroll(services: Services, student: int, section: int, **kw: object) -> object:
    async def work(conn: AsyncConnection) -> object:
        return await services.enrollment.enroll_in(conn, student, section, **kw)  # type: ignore[arg-type]

    return await services.db.run(work)
