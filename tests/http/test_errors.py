"""Bad input gets a clear coded 4xx, never a 500, and changes nothing."""

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from sugang.app import create_app
from sugang.runtime import Services
from tests.support.factories import Factory, login


@pytest.fixture
async def student_headers(client: httpx.AsyncClient, factory: Factory) -> dict[str, str]:
    await factory.term()
    await factory.student(number="20279999")
    return await login(client, "20279999")


@pytest.mark.parametrize(
    "body",
    [
        {"section_id": 2**63},
        {"section_id": -1},
        {"section_id": 0},
        {"section_id": "abc"},
        {"section_id": None},
        {},
        [],
        {"section_id": 1.5},
        {"section_id": 1, "waitlist": "maybe"},
    ],
)
async def test_malformed_enroll_bodies_are_invalid_requests(
    client: httpx.AsyncClient, factory: Factory, student_headers: dict[str, str], body: object
) -> None:
    response = await client.post("/api/v1/enrollments", json=body, headers=student_headers)
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_REQUEST"
    assert await factory.count("enrollments") == 0


async def test_a_malformed_request_is_422_whatever_admission_pass_it_carries(
    client: httpx.AsyncClient, student_headers: dict[str, str]
) -> None:
    headers = {**student_headers, "X-Admission-Token": "not-a-pass"}
    bad_body = await client.post("/api/v1/enrollments", json={"section_id": 0}, headers=headers)
    bad_path = await client.delete("/api/v1/enrollments/0", headers=headers)
    good = await client.post("/api/v1/enrollments", json={"section_id": 1}, headers=headers)
    assert [bad_body.json()["code"], bad_path.json()["code"]] == ["INVALID_REQUEST"] * 2
    assert good.status_code == 401 and good.json()["code"] == "ADMISSION_INVALID"


async def test_non_json_body_is_an_invalid_request(
    client: httpx.AsyncClient, student_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/enrollments",
        content=b"\xff\xfe{not json",
        headers={**student_headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sections/99999999999999999999",
        "/api/v1/sections/-3",
        "/api/v1/sections/x",
        "/api/v1/sections?page=0",
        "/api/v1/sections?page_size=100000",
        "/api/v1/sections?term_id=-1",
    ],
)
async def test_bad_paths_and_queries_are_4xx(
    client: httpx.AsyncClient, student_headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=student_headers)
    assert 400 <= response.status_code < 500
    assert "code" in response.json()


async def test_unknown_section_is_not_found(
    client: httpx.AsyncClient, student_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/sections/12345", headers=student_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_unknown_route_and_wrong_method_are_coded(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    wrong = await client.put("/healthz")
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_refusals_speak_korean_by_default_and_english_on_request(
    client: httpx.AsyncClient, factory: Factory, student_headers: dict[str, str]
) -> None:
    ko = await client.get("/api/v1/sections/777", headers=student_headers)
    en = await client.get(
        "/api/v1/sections/777", headers={**student_headers, "Accept-Language": "en-US,en;q=0.9"}
    )
    assert ko.json()["message"] == ko.json()["messages"]["ko"]
    assert en.json()["message"] == en.json()["messages"]["en"]
    assert ko.json()["messages"] == en.json()["messages"]


async def test_a_constraint_violation_is_a_409_not_a_500(services: Services) -> None:
    app = create_app(services=services)

    async def racing_write() -> None:
        raise IntegrityError("INSERT INTO departments …", {}, Exception("duplicate key value"))

    app.add_api_route("/test-only/race", racing_write, methods=["POST"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/test-only/race")

    assert response.status_code == 409 and response.json()["code"] == "CONFLICT"


async def test_nul_bytes_are_refused_or_stored_never_a_500(
    client: httpx.AsyncClient, factory: Factory, student_headers: dict[str, str]
) -> None:
    login_attempt = await client.post(
        "/api/v1/auth/token", data={"username": "2027\x009999", "password": "whatever!"}
    )
    search = await client.get("/api/v1/sections?q=a%00b", headers=student_headers)
    admin = await login(client, await factory.staff())
    student = await client.post(
        "/api/v1/admin/students",
        json={
            "student_number": "20270777",
            "name": "nul\x00name",
            "year": 1,
            "password": "long-password",
        },
        headers=admin,
    )
    assert login_attempt.status_code in (401, 422)
    assert search.status_code in (200, 422)
    assert student.status_code in (201, 422)  # PostgreSQL refuses NUL in text; SQLite keeps it


async def test_dates_outside_the_calendar_are_invalid(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    window = {"opens_at": "0001-01-01T00:00:00+01:00", "closes_at": "2027-01-01T00:00:00Z"}
    body = {"code": "X", "name_ko": "X", "name_en": "X", "basket": window, "add_drop": window}
    response = await client.post("/api/v1/admin/terms", json=body, headers=admin)
    assert response.status_code == 422 and response.json()["code"] == "INVALID_REQUEST"


async def test_a_course_cannot_require_itself(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await login(client, await factory.staff())
    await client.post(
        "/api/v1/admin/departments",
        json={"code": "D", "name_ko": "학과", "name_en": "D"},
        headers=admin,
    )
    body = {
        "code": "LOOP1",
        "title_ko": "순환",
        "title_en": "Loop",
        "credits": 3,
        "department_code": "D",
        "prerequisite_codes": ["LOOP1"],
    }
    response = await client.post("/api/v1/admin/courses", json=body, headers=admin)
    assert response.status_code == 422 and response.json()["code"] == "INVALID_REQUEST"
