"""Full sections are refused without the database; whatever frees a seat (a drop, more seats,
a catalog re-import, a deleted student) reopens them at once."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from sugang.enrollment.fullness import FullSections, LocalFullSections, RedisFullSections
from sugang.runtime import Services
from tests.support.factories import Factory, login

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["local", "redis"])
def service_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test here runs with the flags in this process and shared over Redis."""
    if request.param == "redis":
        return {"full": RedisFullSections(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}")}
    return {}


@pytest.fixture
def flags(services: Services) -> FullSections:
    return services.full_sections


async def fill(
    client: httpx.AsyncClient, factory: Factory, term: int | None = None, course: str | None = None
) -> tuple[int, dict[str, str], dict[str, str]]:
    """A section of one seat, taken; a second student refused by the database, which flags
    the section full. (section, the holder's headers, the latecomer's)."""
    term = term or await factory.term()
    section = await factory.section(term, capacity=1, course=course)
    holder_number, late_number = (
        f"2027{uuid.uuid4().int % 10**6:06d}",
        f"2028{uuid.uuid4().int % 10**6:06d}",
    )
    await factory.student(number=holder_number)
    await factory.student(number=late_number)
    holder, late = await login(client, holder_number), await login(client, late_number)
    assert (
        await client.post("/api/v1/enrollments", json={"section_id": section}, headers=holder)
    ).status_code == 201
    first_refusal = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers=late
    )
    assert first_refusal.json()["code"] == "SECTION_FULL"  # by the database; now flagged
    return section, holder, late


def forbid_database(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no(*_: Any, **__: Any) -> Any:
        raise AssertionError("the fast path went to the database")

    monkeypatch.setattr(services.enrollment, "enroll_in", no)
    monkeypatch.setattr(services.enrollment, "enroll_optimistically", no)


async def test_a_full_section_is_refused_without_the_database(
    client: httpx.AsyncClient,
    factory: Factory,
    services: Services,
    flags: FullSections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    section, _, late = await fill(client, factory)
    forbid_database(services, monkeypatch)
    response = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=late)
    assert response.status_code == 409 and response.json()["detail"]["capacity"] == 1


async def test_a_drop_clears_the_flag_at_once(
    client: httpx.AsyncClient, factory: Factory, flags: FullSections
) -> None:
    section, holder, late = await fill(client, factory)
    assert (
        await client.delete(f"/api/v1/enrollments/{section}", headers=holder)
    ).status_code == 204
    response = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=late)
    assert response.status_code == 201


async def test_a_capacity_raise_clears_the_flag_at_once(
    client: httpx.AsyncClient, factory: Factory, flags: FullSections
) -> None:
    section, _, late = await fill(client, factory)
    admin = await login(client, await factory.staff())
    await client.patch(f"/api/v1/admin/sections/{section}", json={"capacity": 2}, headers=admin)
    response = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=late)
    assert response.status_code == 201


async def test_a_catalog_reimport_with_more_seats_clears_the_flag_at_once(
    client: httpx.AsyncClient, factory: Factory, flags: FullSections
) -> None:
    term, course = await factory.term(code="RE-1"), await factory.course(code="RE101")
    section, _, late = await fill(client, factory, term, course)
    admin = await login(client, await factory.staff())
    department = await factory.department()
    csv = (
        "term_code,course_code,title_ko,title_en,credits,department_code,section_number,capacity\n"
        f"RE-1,RE101,과목 RE101,Course RE101,3,{department},1,2\n"
    )
    imported = await client.post(
        "/api/v1/admin/import/catalog", files={"file": ("c.csv", csv)}, headers=admin
    )
    assert imported.status_code == 200, imported.text
    response = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=late)
    assert response.status_code == 201


async def test_deleting_a_student_clears_the_flag_on_their_seats_at_once(
    client: httpx.AsyncClient, factory: Factory, flags: FullSections
) -> None:
    section, holder, late = await fill(client, factory)
    admin = await login(client, await factory.staff())
    holder_id = (await client.get("/api/v1/me", headers=holder)).json()["id"]
    deleted = await client.delete(f"/api/v1/admin/students/{holder_id}", headers=admin)
    assert deleted.status_code == 204
    response = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=late)
    assert response.status_code == 201


async def test_joining_the_waitlist_still_goes_through(
    client: httpx.AsyncClient, factory: Factory, flags: FullSections
) -> None:
    section, _, late = await fill(client, factory)
    response = await client.post(
        "/api/v1/enrollments", json={"section_id": section, "waitlist": True}, headers=late
    )
    assert response.status_code == 202


async def test_a_flag_expires_by_itself() -> None:
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    assert await flags.capacity_if_full(7) == 30
    await asyncio.sleep(0.1)
    assert await flags.capacity_if_full(7) is None


async def test_replicas_hear_each_others_marks_and_clears() -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    one, other = (
        RedisFullSections(REDIS_URL, prefix=prefix),
        RedisFullSections(REDIS_URL, prefix=prefix),
    )
    try:
        await asyncio.gather(one.subscribed(), other.subscribed())
        await one.mark_full(7, 30)
        assert await eventually(other, 7, 30)
        await other.clear(7)
        assert await eventually(one, 7, None)
    finally:
        await one.close()
        await other.close()


async def eventually(flags: RedisFullSections, section: int, expected: int | None) -> bool:
    """Whether `flags` shows `expected` for `section` within a second (pub/sub is async)."""
    for _ in range(100):
        if await flags.capacity_if_full(section) == expected:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_without_redis_flags_stay_in_this_replica() -> None:
    flags = RedisFullSections("redis://127.0.0.1:1/0")
    await flags.mark_full(7, 30)
    assert await flags.capacity_if_full(7) == 30  # still refused here, without the database
    await flags.clear(7)
    assert await flags.capacity_if_full(7) is None
    await flags.close()


async def test_a_lapsed_flag_sends_one_attempt_to_look_and_the_others_wait_for_it() -> None:
    """The herd at a hot section when its flag lapses: one attempt goes to the database, the
    others at that section wait for what it finds."""
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    await asyncio.sleep(0.1)
    assert await flags.capacity_if_full(7) is None  # the first one looks
    waiting = [asyncio.create_task(flags.capacity_if_full(7)) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in waiting)
    await flags.mark_full(7, 30)  # it found the section full
    assert await asyncio.gather(*waiting) == [30] * 50


async def test_a_look_that_finds_a_seat_lets_the_others_look_too() -> None:
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    await asyncio.sleep(0.1)
    assert await flags.capacity_if_full(7) is None
    waiting = [asyncio.create_task(flags.capacity_if_full(7)) for _ in range(5)]
    await asyncio.sleep(0.01)
    flags.seat_taken(7)  # the flag was stale
    assert await asyncio.gather(*waiting) == [None] * 5
    assert await flags.capacity_if_full(7) is None  # and is gone


async def test_a_look_refused_for_another_reason_hands_the_look_on() -> None:
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    await asyncio.sleep(0.1)
    assert await flags.capacity_if_full(7) is None
    waiting = asyncio.create_task(flags.capacity_if_full(7))
    await asyncio.sleep(0.01)
    flags.attempt_over(7)  # say, TIME_CONFLICT: it learned nothing of the seats
    assert await waiting is None
    assert await flags.capacity_if_full(7) is None  # the next one looks again


async def test_waiting_for_a_look_that_never_answers_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sugang.enrollment.fullness.LOOK_WAIT_SECONDS", 0.05)
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    await asyncio.sleep(0.1)
    assert await flags.capacity_if_full(7) is None
    assert await asyncio.wait_for(flags.capacity_if_full(7), 1) is None


async def test_only_the_looking_attempt_hands_its_look_on() -> None:
    """An attempt that did not start the look (one that waited and timed out, say) ending
    leaves the others waiting for the one that is looking."""
    flags = LocalFullSections(ttl=0.05)
    await flags.mark_full(7, 30)
    await asyncio.sleep(0.1)

    async def looker() -> None:
        assert await flags.capacity_if_full(7) is None
        await asyncio.sleep(0.05)
        await flags.mark_full(7, 30)

    looking = asyncio.create_task(looker())
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(flags.capacity_if_full(7))
    await asyncio.sleep(0.01)
    flags.attempt_over(7)  # another attempt at the section, over: not the looker
    assert await waiting == 30
    await looking
