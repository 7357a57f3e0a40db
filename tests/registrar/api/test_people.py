"""The registrar's routes for students and staff accounts."""

import httpx

from tests.support.factories import Factory, login


async def test_admin_manages_students(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await login(client, await factory.staff())
    created = await client.post(
        "/api/v1/admin/students",
        json={
            "student_number": "20274444",
            "name": "김학생",
            "year": 2,
            "password": "long-enough-pw",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    student_id = created.json()["id"]
    updated = await client.patch(
        f"/api/v1/admin/students/{student_id}", json={"max_credits": 21}, headers=admin
    )
    assert updated.json()["max_credits"] == 21
    duplicate = await client.post(
        "/api/v1/admin/students",
        json={
            "student_number": "20274444",
            "name": "다른",
            "year": 1,
            "password": "long-enough-pw",
        },
        headers=admin,
    )
    assert duplicate.status_code == 409
    listed = (await client.get("/api/v1/admin/students?q=2027444", headers=admin)).json()
    assert [s["student_number"] for s in listed["items"]] == ["20274444"]
    assert (
        await client.delete(f"/api/v1/admin/students/{student_id}", headers=admin)
    ).status_code == 204
    assert await factory.count("students") == 0
