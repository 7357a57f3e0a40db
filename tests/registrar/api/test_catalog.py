"""The registrar's catalog routes (/api/v1/admin/terms, courses, sections)."""

import asyncio

import httpx

from tests.support.factories import Factory, login

TERM = {
    "code": "2027-2",
    "name_ko": "2027학년도 2학기",
    "name_en": "Fall 2027",
    "is_current": True,
    "basket": {"opens_at": "2027-08-01T00:00:00Z", "closes_at": "2027-08-05T00:00:00Z"},
    "add_drop": {"opens_at": "2027-09-01T00:00:00Z", "closes_at": "2027-09-07T00:00:00Z"},
    "enrollment_windows": [
        {"year_group": 4, "opens_at": "2027-08-10T01:00:00Z", "closes_at": "2027-08-11T01:00:00Z"},
        {
            "year_group": None,
            "opens_at": "2027-08-12T01:00:00Z",
            "closes_at": "2027-08-14T01:00:00Z",
        },
    ],
}


async def test_registrar_builds_a_term_catalog_and_students_see_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff("admin"))
    professor = await factory.staff("professor", username="prof.lee")

    term = await client.post("/api/v1/admin/terms", json=TERM, headers=admin)
    assert term.status_code == 201, term.text
    term_id = term.json()["id"]
    assert [w["year_group"] for w in term.json()["enrollment_windows"]] == [4, None]
    department = await client.post(
        "/api/v1/admin/departments",
        json={"code": "CSE", "name_ko": "컴퓨터공학과", "name_en": "Computer Science"},
        headers=admin,
    )
    assert department.status_code == 201
    for code, prerequisites in (("CSE101", []), ("CSE201", ["CSE101"])):
        course = await client.post(
            "/api/v1/admin/courses",
            json={
                "code": code,
                "title_ko": "자료구조",
                "title_en": "Data Structures",
                "credits": 3,
                "department_code": "CSE",
                "prerequisite_codes": prerequisites,
            },
            headers=admin,
        )
        assert course.status_code == 201, course.text
    section = await client.post(
        "/api/v1/admin/sections",
        json={
            "term_id": term_id,
            "course_code": "CSE201",
            "number": 1,
            "capacity": 40,
            "instructor_username": professor,
            "instructor_name": "이교수",
            "meeting_times": [{"day": "Mon", "start": "09:00", "end": "10:15", "room": "E301"}],
        },
        headers=admin,
    )
    assert section.status_code == 201, section.text
    assert section.json()["prerequisite_codes"] == ["CSE101"]

    await factory.student(number="20271111")
    student = await login(client, "20271111")
    current = (await client.get("/api/v1/terms/current")).json()
    assert current["code"] == "2027-2"
    found = (await client.get("/api/v1/sections?q=자료", headers=student)).json()
    assert found["total"] == 1
    item = found["items"][0]
    assert (item["course_code"], item["capacity"], item["enrolled"], item["seats_left"]) == (
        "CSE201",
        40,
        0,
        40,
    )
    assert item["meeting_times"][0] == {
        "day": 0,
        "day_name": "Mon",
        "start": "09:00",
        "end": "10:15",
        "room": "E301",
    }


async def test_capacity_cannot_go_below_enrolled_over_http(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=2)
    await factory.student(number="20273333")
    student = await login(client, "20273333")
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=student)
    admin = await login(client, await factory.staff())

    response = await client.patch(
        f"/api/v1/admin/sections/{section}", json={"capacity": 0}, headers=admin
    )

    assert response.status_code == 409 and response.json()["code"] == "CAPACITY_BELOW_ENROLLED"
    deleting = await client.delete(f"/api/v1/admin/sections/{section}", headers=admin)
    assert deleting.status_code == 409 and deleting.json()["code"] == "SECTION_HAS_ENROLLMENTS"


async def test_invalid_term_windows_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    backwards = {
        **TERM,
        "basket": {"opens_at": "2027-08-05T00:00:00Z", "closes_at": "2027-08-01T00:00:00Z"},
    }
    naive = {
        **TERM,
        "add_drop": {"opens_at": "2027-09-01T00:00:00", "closes_at": "2027-09-07T00:00:00"},
    }
    for body in (backwards, naive):
        response = await client.post("/api/v1/admin/terms", json=body, headers=admin)
        assert response.status_code == 422 and response.json()["code"] == "INVALID_REQUEST"
    assert await factory.count("terms") == 0


async def test_racing_creations_of_one_code_give_one_201_and_409s(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    body = {"code": "RACE", "name_ko": "경쟁학과", "name_en": "Race"}

    responses = await asyncio.gather(
        *(client.post("/api/v1/admin/departments", json=body, headers=admin) for _ in range(6))
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"CONFLICT"}
    assert await factory.count("departments") == 1
