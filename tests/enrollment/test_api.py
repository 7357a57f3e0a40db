"""The student endpoints over HTTP: status codes, bodies and Idempotency-Key."""

import asyncio
from datetime import timedelta

import httpx

from sugang.catalog.schemas import WindowIn
from sugang.clock import FixedClock
from tests.factories import Factory, login


async def student_client(
    client: httpx.AsyncClient, factory: Factory, **kw: object
) -> tuple[int, dict[str, str]]:
    student = await factory.student(**kw)  # type: ignore[arg-type]
    return student, await login(client, await factory.username_of(student))


async def test_enroll_201_then_timetable_and_my_enrollments(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, meets="Mon 09:00-10:15 E301; Wed 09:00-10:15 E301")
    _, headers = await student_client(client, factory)

    enrolled = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers=headers
    )
    assert enrolled.status_code == 201
    assert enrolled.json()["status"] == "enrolled"

    mine = (await client.get("/api/v1/me/enrollments", headers=headers)).json()
    assert [s["id"] for s in mine["enrollments"]] == [section]
    assert mine["credits"] == 3 and mine["max_credits"] == 18
    assert mine["enrollments"][0]["seats_left"] == 29

    timetable = (await client.get("/api/v1/me/timetable", headers=headers)).json()
    assert [(s["day_name"], s["start"], s["end"], s["room"]) for s in timetable["slots"]] == [
        ("Mon", "09:00", "10:15", "E301"),
        ("Wed", "09:00", "10:15", "E301"),
    ]


async def test_full_section_409_then_202_on_the_waitlist(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=1)
    _, first = await student_client(client, factory)
    _, second = await student_client(client, factory)
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=first)

    full = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=second)
    assert full.status_code == 409 and full.json()["code"] == "SECTION_FULL"
    waitlisted = await client.post(
        "/api/v1/enrollments", json={"section_id": section, "waitlist": True}, headers=second
    )
    assert waitlisted.status_code == 202
    assert waitlisted.json() == {
        "status": "waitlisted",
        "section_id": section,
        "enrollment_id": None,
        "position": 1,
    }

    mine = (await client.get("/api/v1/me/enrollments", headers=second)).json()
    assert mine["waitlist"][0]["position"] == 1

    dropped = await client.delete(f"/api/v1/enrollments/{section}", headers=first)
    assert dropped.status_code == 204
    mine = (await client.get("/api/v1/me/enrollments", headers=second)).json()
    assert [s["id"] for s in mine["enrollments"]] == [section] and mine["waitlist"] == []


async def test_refusal_bodies_carry_code_and_both_languages(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    held = await factory.section(term, meets="Tue 13:00-14:15")
    clash = await factory.section(term, meets="Tue 14:00-15:00")
    _, headers = await student_client(client, factory)
    await client.post("/api/v1/enrollments", json={"section_id": held}, headers=headers)

    response = await client.post("/api/v1/enrollments", json={"section_id": clash}, headers=headers)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "TIME_CONFLICT"
    assert "Tue 13:00-14:15" in body["messages"]["en"] and "겹칩니다" in body["messages"]["ko"]
    assert body["detail"]["conflicting_section_id"] == held


async def test_window_closed_is_403(client: httpx.AsyncClient, factory: Factory) -> None:
    now = factory.now
    term = await factory.term(
        windows=[
            WindowIn(
                year_group=4, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=1)
            )
        ]
    )
    section = await factory.section(term)
    _, headers = await student_client(client, factory, year=1)
    response = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers=headers
    )
    assert response.status_code == 403 and response.json()["code"] == "WINDOW_CLOSED"


async def test_drop_of_nothing_is_404(client: httpx.AsyncClient, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term)
    _, headers = await student_client(client, factory)
    response = await client.delete(f"/api/v1/enrollments/{section}", headers=headers)
    assert response.status_code == 404 and response.json()["code"] == "NOT_ENROLLED"


async def test_idempotent_retry_returns_the_first_outcome_and_acts_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    _, headers = await student_client(client, factory)
    keyed = {**headers, "Idempotency-Key": "enroll-1"}

    first = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=keyed)
    retry = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=keyed)

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await factory.count("enrollments") == 1
    assert await factory.count("audit_log") == 1


async def test_idempotent_refusal_is_replayed_even_after_the_state_changes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=0)
    _, headers = await student_client(client, factory)
    keyed = {**headers, "Idempotency-Key": "full-once"}
    first = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=keyed)
    admin = await login(client, await factory.staff())
    await client.patch(f"/api/v1/admin/sections/{section}", json={"capacity": 5}, headers=admin)

    retry = await client.post("/api/v1/enrollments", json={"section_id": section}, headers=keyed)

    assert first.status_code == retry.status_code == 409
    assert retry.json()["code"] == "SECTION_FULL"
    assert await factory.count("enrollments") == 0


async def test_idempotency_key_reused_for_another_request_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    one, two = await factory.section(term), await factory.section(term)
    _, headers = await student_client(client, factory)
    keyed = {**headers, "Idempotency-Key": "same-key"}
    await client.post("/api/v1/enrollments", json={"section_id": one}, headers=keyed)
    response = await client.post("/api/v1/enrollments", json={"section_id": two}, headers=keyed)
    assert response.status_code == 422 and response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await factory.count("enrollments") == 1


async def test_concurrent_retries_with_one_key_act_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    _, headers = await student_client(client, factory)
    keyed = {**headers, "Idempotency-Key": "burst"}

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/enrollments", json={"section_id": section}, headers=keyed)
            for _ in range(8)
        )
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["enrollment_id"] for r in responses}) == 1
    assert await factory.count("enrollments") == 1


async def test_idempotent_drop_acts_once(client: httpx.AsyncClient, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term)
    _, headers = await student_client(client, factory)
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    keyed = {**headers, "Idempotency-Key": "drop-1"}
    first = await client.delete(f"/api/v1/enrollments/{section}", headers=keyed)
    retry = await client.delete(f"/api/v1/enrollments/{section}", headers=keyed)
    assert first.status_code == retry.status_code == 204
    assert await factory.count("audit_log", action="drop") == 1


async def test_basket_add_list_remove(client: httpx.AsyncClient, factory: Factory) -> None:
    term = await factory.term()
    course = await factory.course()
    first = await factory.section(term, course=course, number=1, meets="Fri 09:00-10:00")
    second_of_same_course = await factory.section(term, course=course, number=2)
    _, headers = await student_client(client, factory)

    added = await client.post("/api/v1/basket", json={"section_id": first}, headers=headers)
    assert added.status_code == 201 and [s["id"] for s in added.json()["sections"]] == [first]
    again = await client.post(
        "/api/v1/basket", json={"section_id": second_of_same_course}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_IN_BASKET"

    assert (await client.delete(f"/api/v1/basket/{first}", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/basket", headers=headers)).json()["sections"] == []
    gone = await client.delete(f"/api/v1/basket?section_id={first}", headers=headers)
    assert gone.status_code == 404 and gone.json()["code"] == "NOT_IN_BASKET"


async def test_basket_is_closed_outside_its_period(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term(basket_open=False)
    section = await factory.section(term)
    _, headers = await student_client(client, factory)
    response = await client.post("/api/v1/basket", json={"section_id": section}, headers=headers)
    assert response.status_code == 403 and response.json()["code"] == "BASKET_CLOSED"
    assert await factory.count("basket_entries") == 0


async def test_an_idempotency_key_is_forgotten_after_a_day(
    client: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    week = WindowIn(
        opens_at=clock.now - timedelta(hours=1), closes_at=clock.now + timedelta(days=7)
    )
    term = await factory.term(windows=[week])
    section = await factory.section(term, capacity=0)
    student, headers = await student_client(client, factory)
    request = {"section_id": section, "waitlist": True}
    first = await client.post(
        "/api/v1/enrollments", json=request, headers={**headers, "Idempotency-Key": "k"}
    )
    assert first.status_code == 202

    clock.now += timedelta(hours=25)
    headers = await login(client, await factory.username_of(student))
    again = await client.post(
        "/api/v1/enrollments", json=request, headers={**headers, "Idempotency-Key": "k"}
    )

    assert again.status_code == 409 and again.json()["code"] == "ALREADY_WAITLISTED"
    assert "Idempotent-Replayed" not in again.headers
