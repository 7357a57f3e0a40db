"""Logging in, bearer tokens and who may call what."""

import json
from typing import Any

import httpx
import jwt
from argon2 import PasswordHasher
from sqlalchemy import text

from sugang.config import get_settings
from tests.support.databases import TEST_SECRET
from tests.support.factories import PASSWORD, Factory, login


async def test_student_logs_in_with_student_number(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student = await factory.student(number="20270001")
    response = await client.post(
        "/api/v1/auth/token", data={"username": "20270001", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"] == "student"
    assert body["user_id"] == student


async def test_wrong_password_and_unknown_user_get_the_same_refusal(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.student(number="20270002")
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": "20270002", "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/token", data={"username": "nobody", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "BAD_CREDENTIALS"


async def test_missing_forged_and_expired_tokens_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.term()
    forged = jwt.encode(
        {"sub": "1", "role": "admin", "aud": "sugang", "exp": 4_000_000_000},
        "not-the-secret-not-the-secret-not-the-secret",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {"sub": "1", "role": "admin", "aud": "sugang", "exp": 1}, TEST_SECRET, algorithm="HS256"
    )
    for headers in (
        {},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": "Bearer not-a-jwt"},
    ):
        response = await client.get("/api/v1/sections", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "NOT_AUTHENTICATED"


async def test_students_cannot_use_registrar_endpoints(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.student(number="20270003")
    headers = await login(client, "20270003")
    response = await client.get("/api/v1/admin/students", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


async def test_staff_cannot_enroll(client: httpx.AsyncClient, factory: Factory) -> None:
    term = await factory.term()
    section = await factory.section(term)
    headers = await login(client, await factory.staff("admin"))
    response = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers=headers
    )
    assert response.status_code == 403


async def test_me_describes_the_student(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.student(number="20270004", year=2, max_credits=21)
    headers = await login(client, "20270004")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["username"], me["role"], me["year"], me["max_credits"]) == (
        "20270004",
        "student",
        2,
        21,
    )


async def stored_hash(factory: Factory, user_id: int, replace_with: str | None = None) -> str:
    """The user's password hash (replaced first, if asked)."""
    async with factory.db.transaction() as conn:
        if replace_with is not None:
            await conn.execute(
                text("UPDATE users SET password_hash = :h WHERE id = :id"),
                {"h": replace_with, "id": user_id},
            )
        return str(
            await conn.scalar(
                text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id}
            )
        )


async def test_login_replaces_a_hash_made_with_weaker_parameters(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student = await factory.student(number="20270005")
    old = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await stored_hash(factory, student, replace_with=old)

    await login(client, "20270005")

    current = await stored_hash(factory, student)
    settings = get_settings()
    configured = f"m={settings.password_memory_kib},t={settings.password_time_cost},p=1"
    assert current != old and configured in current
    await login(client, "20270005")  # and the new hash verifies


async def test_login_never_replaces_a_stronger_hash(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student = await factory.student(number="20270006")
    stronger = PasswordHasher(time_cost=3, memory_cost=20 * 1024, parallelism=1).hash(PASSWORD)
    await stored_hash(factory, student, replace_with=stronger)

    await login(client, "20270006")

    # a rehash with the configured (weaker) cost would downgrade it
    assert await stored_hash(factory, student) == stronger


async def audit_rows(factory: Factory, action: str) -> list[Any]:
    async with factory.db.transaction(write=False) as conn:
        rows = await conn.execute(
            text("SELECT actor_id, outcome, detail FROM audit_log WHERE action = :a ORDER BY id"),
            {"a": action},
        )
        return [(r.actor_id, r.outcome, _json(r.detail)) for r in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def test_every_login_is_audited_with_the_client_address(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student = await factory.student(number="20270007")
    await login(client, "20270007")
    wrong = {"username": "20270007", "password": "not-the-password"}
    assert (await client.post("/api/v1/auth/token", data=wrong)).status_code == 401
    nobody = {"username": "no-such-user", "password": "guess"}
    assert (await client.post("/api/v1/auth/token", data=nobody)).status_code == 401

    client_address = "127.0.0.1"  # httpx's ASGI transport
    assert await audit_rows(factory, "login") == [
        (student, "ok", {"username": "20270007", "client": client_address}),
        (student, "refused", {"username": "20270007", "client": client_address}),
        (None, "refused", {"username": "no-such-user", "client": client_address}),
    ]


async def test_creating_a_staff_account_is_audited_with_its_creator(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers = await login(client, await factory.staff(username="registrar-1"))
    registrar = (await client.get("/api/v1/me", headers=headers)).json()["id"]
    body = {"username": "prof-kim", "name": "Kim", "role": "professor", "password": "x" * 12}
    made = await client.post("/api/v1/admin/users", json=body, headers=headers)
    assert made.status_code == 201, made.text
    detail = {"user_id": made.json()["id"], "username": "prof-kim", "role": "professor"}
    assert await audit_rows(factory, "create_staff") == [(registrar, "ok", detail)]
