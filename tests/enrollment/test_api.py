"""The student endpoints over HTTP: status codes and bodies of enroll, drop and the basket."""

from datetime import timedelta

import httpx

from sugang.catalog.schemas import WindowIn
from tests.support.factories import Factory, student_client


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
