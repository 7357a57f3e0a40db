"""Every privileged action is in the audit log with the registrar who did it: catalog edits
and deletions (a deleted section's waitlist is kept in its row), student records, imports."""

import httpx

from tests.support.factories import Factory, login, student_client


async def audit_rows(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    answer = await client.get("/api/v1/admin/audit?limit=200", headers=headers)
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


async def test_catalog_edits_deletions_students_and_imports_are_audited_with_their_actor(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    full = await factory.section(term, capacity=0)
    student, student_headers = await student_client(client, factory)
    waiting = await client.post(
        "/api/v1/enrollments", json={"section_id": full, "waitlist": True}, headers=student_headers
    )
    assert waiting.status_code == 202
    registrar_name = await factory.staff("admin")
    registrar = await login(client, registrar_name)
    me = (await client.get("/api/v1/me", headers=registrar)).json()["id"]
    course = await client.post(
        "/api/v1/admin/courses",
        json={
            "code": "AUD101",
            "title_ko": "감사",
            "title_en": "Audit",
            "credits": 3,
            "department_code": await factory.department(),
        },
        headers=registrar,
    )
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]

    answers = [
        await client.patch(
            f"/api/v1/admin/courses/{course_id}", json={"title_en": "Audits"}, headers=registrar
        ),
        await client.delete(f"/api/v1/admin/courses/{course_id}", headers=registrar),
        await client.patch(f"/api/v1/admin/terms/{term}", json={"name_en": "T"}, headers=registrar),
        await client.delete(f"/api/v1/admin/sections/{full}", headers=registrar),
        await client.post(
            "/api/v1/admin/import/departments",
            files={
                "file": ("d.csv", "code,name_ko,name_en\nAUD,감사학과,Audit\n".encode(), "text/csv")
            },
            headers=registrar,
        ),
    ]

    assert [a.status_code for a in answers] == [200, 204, 200, 204, 200], [a.text for a in answers]
    rows = await audit_rows(client, registrar)
    by_action = {row["action"]: row for row in rows}
    for action in (
        "create_course",
        "update_course",
        "delete_course",
        "update_term",
        "delete_section",
        "import",
    ):
        assert by_action[action]["actor_id"] == me, action
    assert by_action["update_course"]["detail"]["changes"] == {"title_en": "Audits"}
    assert by_action["delete_section"]["detail"]["waitlisted"] == [student]
    assert by_action["import"]["detail"]["kind"] == "departments"
    assert by_action["import"]["detail"]["created"] == 1


async def test_a_refused_import_is_audited_too(client: httpx.AsyncClient, factory: Factory) -> None:
    registrar = await login(client, await factory.staff("admin"))
    bad = await client.post(
        "/api/v1/admin/import/departments",
        files={"file": ("d.csv", b"code,name_ko,name_en\n,,\n", "text/csv")},
        headers=registrar,
    )

    assert bad.status_code == 422 and bad.json()["code"] == "IMPORT_INVALID"
    rows = [row for row in await audit_rows(client, registrar) if row["action"] == "import"]
    assert rows[0]["outcome"] == "refused"
    assert rows[0]["detail"] == {"kind": "departments", "error_count": 1}
