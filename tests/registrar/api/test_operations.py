"""Rosters for professors and the registrar, and the audit log."""

import httpx

from tests.support.factories import Factory, login


async def test_professor_sees_own_roster_as_json_and_csv(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    professor = await factory.staff("professor", username="prof.kim")
    other = await factory.staff("professor", username="prof.park")
    term = await factory.term()
    section = await factory.section(term, capacity=1, instructor=professor)
    for number in ("20278001", "20278002"):
        await factory.student(number=number)
        headers = await login(client, number)
        await client.post(
            "/api/v1/enrollments", json={"section_id": section, "waitlist": True}, headers=headers
        )

    mine = await login(client, professor)
    roster = (await client.get(f"/api/v1/sections/{section}/roster", headers=mine)).json()
    assert [e["student_number"] for e in roster["enrolled"]] == ["20278001"]
    assert [(e["student_number"], e["position"]) for e in roster["waitlist"]] == [("20278002", 1)]
    csv = await client.get(f"/api/v1/sections/{section}/roster?format=csv", headers=mine)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "20278001" in csv.text and "waitlisted,1,20278002" in csv.text
    sections = (await client.get("/api/v1/professor/sections", headers=mine)).json()
    assert [s["id"] for s in sections] == [section]

    theirs = await login(client, other)
    refused = await client.get(f"/api/v1/sections/{section}/roster", headers=theirs)
    assert refused.status_code == 403


async def test_audit_log_lists_every_state_change(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student(number="20279001")
    headers = await login(client, "20279001")
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    await client.delete(f"/api/v1/enrollments/{section}", headers=headers)
    admin = await login(client, await factory.staff())

    entries = (await client.get(f"/api/v1/admin/audit?student_id={student}", headers=admin)).json()

    assert [(e["action"], e["outcome"], e["actor_id"]) for e in entries] == [
        ("drop", "ok", student),
        ("enroll", "ok", student),
    ]
