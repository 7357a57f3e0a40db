"""Revocable identity: a login token stops working once its user's password is changed or
reset, their role changes, their account is disabled or deleted; a deleted user's id is never
given to anyone else, and their stored idempotent answers go with them."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from sugang.auth import revocations, store
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.runtime import Services
from tests.support.factories import PASSWORD, Factory, login, student_client

NEW_PASSWORD = "a-new-password-1234"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request reads the revocations (the default is once a second per worker, tested
    on its own below)."""
    return settings.model_copy(update={"revocation_poll_seconds": 0})


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/api/v1/me", headers=headers)).status_code


async def test_changing_your_password_logs_out_every_other_session(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, phone = await student_client(client, factory)
    laptop = await login(client, await factory.username_of(student))

    changed = await client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=laptop,
    )

    assert changed.status_code == 200, changed.text
    this_device = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert await me(client, phone) == await me(client, laptop) == 401
    assert await me(client, this_device) == 200
    username = await factory.username_of(student)
    assert await login(client, username, NEW_PASSWORD)
    old = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert old.status_code == 401


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, headers = await student_client(client, factory)

    refused = await client.put(
        "/api/v1/me/password",
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        headers=headers,
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "CURRENT_PASSWORD_WRONG"
    assert await me(client, headers) == 200
    assert await login(client, await factory.username_of(student), PASSWORD)


async def test_a_password_reset_by_the_registrar_voids_the_students_tokens(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, headers = await student_client(client, factory)
    registrar = await login(client, await factory.staff("admin"))

    renamed = await client.patch(
        f"/api/v1/admin/students/{student}", json={"name": "New Name"}, headers=registrar
    )
    assert renamed.status_code == 200
    assert await me(client, headers) == 200  # an edit that is not a password keeps them in

    reset = await client.patch(
        f"/api/v1/admin/students/{student}", json={"password": NEW_PASSWORD}, headers=registrar
    )

    assert reset.status_code == 200
    assert await me(client, headers) == 401
    assert await login(client, await factory.username_of(student), NEW_PASSWORD)


async def test_a_deleted_students_token_never_acts_as_anyone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=5)
    registrar = await login(client, await factory.staff("admin"))
    student, headers = await student_client(client, factory)  # the highest id so far
    key = {"Idempotency-Key": "k-1"}
    enrolled = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers={**headers, **key}
    )
    assert enrolled.status_code == 201

    deleted = await client.delete(f"/api/v1/admin/students/{student}", headers=registrar)
    newcomer, newcomer_headers = await student_client(client, factory)

    assert deleted.status_code == 204
    assert newcomer > student  # the id is never given again, on SQLite too
    assert await me(client, headers) == 401
    assert await factory.count("idempotency_records", user_id=student) == 0
    again = await client.post(
        "/api/v1/enrollments", json={"section_id": section}, headers={**newcomer_headers, **key}
    )
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers


async def test_a_role_change_voids_the_old_role_in_the_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    professor_name = await factory.staff("professor")
    professor = await login(client, professor_name)
    registrar = await login(client, await factory.staff("admin"))
    professor_id = (await client.get("/api/v1/me", headers=professor)).json()["id"]

    promoted = await client.patch(
        f"/api/v1/admin/users/{professor_id}", json={"role": "admin"}, headers=registrar
    )

    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert await me(client, professor) == 401
    as_admin = await login(client, professor_name)
    assert (await client.get("/api/v1/admin/students", headers=as_admin)).status_code == 200

    demoted = await client.patch(
        f"/api/v1/admin/users/{professor_id}", json={"role": "professor"}, headers=registrar
    )
    assert demoted.status_code == 200
    assert (await client.get("/api/v1/admin/students", headers=as_admin)).status_code == 401


async def test_a_disabled_account_is_logged_out_and_cannot_log_in_until_enabled(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, headers = await student_client(client, factory)
    username = await factory.username_of(student)
    registrar = await login(client, await factory.staff("admin"))

    disabled = await client.patch(
        f"/api/v1/admin/users/{student}", json={"disabled": True}, headers=registrar
    )
    refused = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": "wrong-password"}
    )

    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert await me(client, headers) == 401
    assert refused.status_code == 403 and refused.json()["code"] == "ACCOUNT_DISABLED"
    assert wrong.json()["code"] == "BAD_CREDENTIALS"  # disabled is told only with the password
    enabled = await client.patch(
        f"/api/v1/admin/users/{student}", json={"disabled": False}, headers=registrar
    )
    assert enabled.status_code == 200
    assert await login(client, username)


async def test_a_registrar_cannot_lock_themselves_out_nor_change_a_students_role(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, _ = await student_client(client, factory)
    registrar = await login(client, await factory.staff("admin"))
    own_id = (await client.get("/api/v1/me", headers=registrar)).json()["id"]

    answers = [
        await client.patch(f"/api/v1/admin/users/{own_id}", json=body, headers=registrar)
        for body in ({"role": "professor"}, {"disabled": True})
    ]
    student_role = await client.patch(
        f"/api/v1/admin/users/{student}", json={"role": "admin"}, headers=registrar
    )

    assert [a.status_code for a in answers] == [409, 409]
    assert student_role.status_code == 409
    assert await me(client, registrar) == 200


async def test_every_change_to_an_account_is_audited_without_the_password(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    student, _ = await student_client(client, factory)
    registrar = await login(client, await factory.staff("admin"))
    await client.patch(
        f"/api/v1/admin/users/{student}", json={"password": NEW_PASSWORD}, headers=registrar
    )
    await client.patch(f"/api/v1/admin/students/{student}", json={"year": 3}, headers=registrar)

    log = (await client.get("/api/v1/admin/audit?limit=50", headers=registrar)).json()
    actions = {entry["action"]: entry for entry in log}

    assert actions["update_user"]["detail"]["password_reset"] is True
    assert actions["update_student"]["detail"] == {"fields": ["year"], "password_reset": False}
    assert NEW_PASSWORD not in str(log)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_by_default_a_worker_reads_revocations_once_a_second(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    services.revocations.poll_seconds = 1.0  # the default
    student, headers = await student_client(client, factory)
    registrar = await login(client, await factory.staff("admin"))
    assert await me(client, headers) == 200  # the worker has just read the revocations

    await client.patch(f"/api/v1/admin/users/{student}", json={"disabled": True}, headers=registrar)
    within_the_second = await me(client, headers)
    await asyncio.sleep(1.05)

    assert within_the_second == 200  # one read a second per worker, not one per request
    assert await me(client, headers) == 401


async def test_expired_idempotency_records_and_old_revocations_are_purged(
    client: httpx.AsyncClient, factory: Factory, services: Services, clock: FixedClock
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=5)
    registrar = await login(client, await factory.staff("admin"))
    student, headers = await student_client(client, factory)
    await client.post(
        "/api/v1/enrollments",
        json={"section_id": section},
        headers={**headers, "Idempotency-Key": "k-1"},
    )
    await client.patch(f"/api/v1/admin/users/{student}", json={"disabled": True}, headers=registrar)

    await services.purge_expired()
    kept = (
        await factory.count("idempotency_records", user_id=student),
        await factory.count("token_revocations", user_id=student),
    )
    clock.now += timedelta(hours=25)
    await services.purge_expired()

    assert kept == (1, 1)
    assert await factory.count("idempotency_records", user_id=student) == 0
    assert await factory.count("token_revocations", user_id=student) == 0


async def test_a_revocation_that_commits_after_a_later_one_is_not_missed(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    """On PostgreSQL a row's id is taken at its insert: a revocation committing after a later
    one lands below the last id a worker has read; it is asked for again."""
    alice, alice_headers = await student_client(client, factory)
    bob, bob_headers = await student_client(client, factory)
    assert await me(client, alice_headers) == await me(client, bob_headers) == 200

    async with services.db.engine.connect() as slow:  # Alice's revocation: id taken, open
        await slow.begin()
        await revocations.revoke(slow, alice, services.clock())
        if services.db.is_sqlite:  # one writer at a time: ids commit in order there
            await slow.commit()
        else:
            async with services.db.transaction() as quick:  # Bob's: a later id, committed
                await revocations.revoke(quick, bob, services.clock())
            assert await me(client, bob_headers) == 401  # read past Alice's id
            assert await me(client, alice_headers) == 200  # hers is not committed yet
            await slow.commit()

    assert await me(client, alice_headers) == 401


async def test_a_rehash_at_login_never_undoes_a_password_reset(
    factory: Factory, services: Services
) -> None:
    """The login hashed the old password at a higher cost while a reset committed: the
    upgrade is written only over the hash it was made from."""
    student = await factory.student()
    async with services.db.transaction() as conn:
        before = await conn.scalar(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": student}
        )
        await store.replace_hash(conn, student, "reset-hash")  # the reset, committed first
        await store.upgrade_hash(conn, student, before, "upgraded-old-password")
        after = await conn.scalar(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": student}
        )
    assert after == "reset-hash"
