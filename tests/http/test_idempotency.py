"""Idempotency-Key on enroll and drop: a retry returns the first answer and acts once."""

import asyncio
from datetime import timedelta

import httpx

from sugang.catalog.schemas import WindowIn
from sugang.clock import FixedClock
from tests.support.factories import Factory, login, student_client


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
    assert await factory.count("audit_log", action="enroll") == 1  # (the login has its own)


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
