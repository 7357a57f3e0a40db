"""Connections that break (a restart, a failover, a lost node, simulated here by PostgreSQL
terminating them, as a shutting-down server does) cost a retry or a 503, never a wrong answer
or a 500."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction

from sugang.config import Settings
from sugang.db import Database
from sugang.db.engine import CommitUnknown
from sugang.enrollment import seats
from sugang.runtime import Services
from tests.support.factories import Factory, student_client

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

_TERMINATE_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def terminate_every_other_connection(services: Services) -> int:
    """What a restarting server does to every session: 57P01, "terminating connection due to
    administrator command"."""
    async with services.db.engine.connect() as conn:
        killed = int(await conn.scalar(_TERMINATE_OTHERS) or 0)
        await conn.commit()
    return killed


async def test_a_transaction_whose_connection_was_terminated_runs_again(
    services: Services, factory: Factory, backend: str
) -> None:
    await services.db.warm_up(5)
    assert await terminate_every_other_connection(services) >= 1
    # every pooled connection is dead now; the first use finds out and starts over once
    assert await services.db.run(lambda conn: conn.scalar(text("SELECT 41 + 1"))) == 42


async def test_enrolling_through_terminated_connections_never_answers_500(
    client: httpx.AsyncClient, services: Services, factory: Factory, backend: str
) -> None:
    term = await factory.term()
    sections = [await factory.section(term, capacity=5) for _ in range(4)]
    students = [await student_client(client, factory) for _ in range(30)]
    await services.db.warm_up(10)

    async def attempt(headers: dict[str, str], section: int) -> int:
        answer = await client.post(
            "/api/v1/enrollments", json={"section_id": section}, headers=headers
        )
        if answer.status_code == 503:
            assert answer.headers["Retry-After"]
        return answer.status_code

    async def fault() -> None:
        for _ in range(3):
            await asyncio.sleep(0.02)
            await terminate_every_other_connection(services)

    attempts = [
        attempt(headers, sections[i % len(sections)]) for i, (_, headers) in enumerate(students)
    ]
    statuses = (await asyncio.gather(fault(), *attempts))[1:]
    assert set(statuses) <= {201, 409, 503}, statuses
    async with services.db.transaction(write=False) as conn:
        rows = await conn.scalar(text("SELECT count(*) FROM enrollments"))
        counters = await conn.scalar(text("SELECT sum(enrolled) FROM sections"))
    assert rows == counters == statuses.count(201)  # every 201 a row, every row a 201


async def test_a_claim_that_committed_before_its_connection_broke_is_answered_201(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A STAND-IN for a network failure: the real claim commits, then the connection is
    reported broken before its answer arrives."""
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()
    claim = seats.claim

    async def committed_then_lost(*args: Any, **kwargs: Any) -> int | None:
        await claim(*args, **kwargs)
        raise DBAPIError("SELECT …", {}, ConnectionResetError("connection was closed"))

    monkeypatch.setattr(seats, "claim", committed_then_lost)
    enrolled = await services.enrollment.enroll_optimistically(student, section)

    async with services.db.transaction(write=False) as conn:
        rows = await conn.scalar(
            text("SELECT id FROM enrollments WHERE student_id = :s"), {"s": student}
        )
    assert enrolled.enrollment_id == rows


async def test_a_claim_lost_twice_is_reported_unknown_not_guessed(
    services: Services, factory: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STAND-IN as above, every time: whether the claim committed cannot be learned."""
    term = await factory.term()
    section = await factory.section(term)
    student = await factory.student()

    async def lost(*args: Any, **kwargs: Any) -> int | None:
        raise DBAPIError("SELECT …", {}, ConnectionResetError("connection was closed"))

    monkeypatch.setattr(seats, "claim", lost)
    with pytest.raises(CommitUnknown):
        await services.enrollment.enroll_optimistically(student, section)


@pytest.mark.parametrize("lost", [TimeoutError(), ConnectionResetError(104, "reset")])
async def test_a_commit_whose_answer_was_lost_is_unknown_and_not_run_again(
    services: Services, backend: str, monkeypatch: pytest.MonkeyPatch, lost: OSError
) -> None:
    """STAND-IN for a COMMIT cut off on its way back (a command timeout, a reset): the real
    commit is made, then the error asyncpg raises unwrapped. Running the work again would
    apply it twice."""
    commit = AsyncTransaction.commit

    async def committed_then_lost(self: AsyncTransaction) -> None:
        await commit(self)
        raise lost

    async def add_row(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO commit_probe VALUES (1)"))

    async with services.db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE commit_probe (n int)"))
    try:
        monkeypatch.setattr(AsyncTransaction, "commit", committed_then_lost)
        with pytest.raises(CommitUnknown):
            await services.db.run(add_row)
        monkeypatch.undo()
        async with services.db.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM commit_probe")) == 1
    finally:
        async with services.db.engine.begin() as conn:
            await conn.execute(text("DROP TABLE commit_probe"))


async def test_a_multi_host_url_reaches_the_server_that_answers(
    settings: Settings, backend: str
) -> None:
    """Several hosts, as CloudNativePG's services or a failover pair are listed: the first
    refuses (nobody listens), the next is the one that writes."""
    url = make_url(settings.database_url)
    hosts = f"host=127.0.0.1:1&host={url.host}:{url.port or 5432}"
    multi = f"postgresql+asyncpg://{url.username}@/{url.database}?{hosts}"
    multi += "&target_session_attrs=read-write"
    database = Database(settings.model_copy(update={"database_url": multi}))
    try:
        assert await database.run(lambda conn: conn.scalar(text("SELECT 1"))) == 1
    finally:
        await database.dispose()
