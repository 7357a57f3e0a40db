"""Idempotency keys belong to their user: the same key from another student is a new request,
never a replay of someone else's answer, and never a refusal for someone else's use of it."""

import httpx

from tests.support.factories import Factory, student_client


async def test_the_same_key_from_other_students_never_replays_the_first_answer(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=5)
    other_section = await factory.section(term, capacity=5)
    alice, alice_headers = await student_client(client, factory)
    bob, bob_headers = await student_client(client, factory)
    carol, carol_headers = await student_client(client, factory)
    key = {"Idempotency-Key": "guessable-key-1"}

    async def enroll(headers: dict[str, str], section_id: int) -> httpx.Response:
        return await client.post(
            "/api/v1/enrollments", json={"section_id": section_id}, headers={**headers, **key}
        )

    first = await enroll(alice_headers, section)
    bob_same_body = await enroll(bob_headers, section)  # Alice's key, Alice's body
    carol_other_body = await enroll(carol_headers, other_section)  # Alice's key, another body

    assert first.status_code == bob_same_body.status_code == carol_other_body.status_code == 201
    for answer in (bob_same_body, carol_other_body):
        assert "Idempotent-Replayed" not in answer.headers
        assert answer.json()["enrollment_id"] != first.json()["enrollment_id"]
    for student in (alice, bob, carol):
        assert await factory.count("enrollments", student_id=student) == 1
