"""`sugang serve`: real worker processes over HTTP. The demo as `make run` serves it; the rush
with 2 worker processes on PostgreSQL, 2,000 attempts from 500 students at 5 sections of 30
seats, fired concurrently (nothing oversold, doubled or lost); SIGTERM finishing what is in
flight."""

import asyncio
import signal
import socket
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from sugang.bench.audit import AuditReport
from sugang.bench.enroll import EnrollScenario, audit, run_enroll_scenario
from sugang.config import Settings
from sugang.db import Database
from tests.support.databases import truncate
from tests.support.server import STOPPED, running_server, start_server, sugang

pytestmark = pytest.mark.slow


def test_serve_runs_the_demo_on_sqlite(tmp_path: Path) -> None:
    """What `make run` does: migrate, seed the demo, serve; then a student enrolls."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    sugang("db", "upgrade", database_url=url)
    sugang("seed", "--demo", database_url=url)
    with running_server(url, workers=1, log=tmp_path / "server.log") as base:

        async def journey() -> tuple[int, int]:
            async with httpx.AsyncClient(base_url=base) as http:
                token = (
                    await http.post(
                        "/api/v1/auth/token",
                        data={"username": "20240002", "password": "sugang-demo-2027"},
                    )
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                sections = (await http.get("/api/v1/sections?q=CSE2010", headers=headers)).json()
                enrolled = await http.post(
                    "/api/v1/enrollments",
                    headers=headers,
                    json={"section_id": sections["items"][0]["id"]},
                )
                docs = await http.get("/docs")
                return enrolled.status_code, docs.status_code

        assert asyncio.run(journey()) == (201, 200)


def test_two_thousand_concurrent_attempts_never_oversell(pg_database: str, tmp_path: Path) -> None:
    asyncio.run(truncate(pg_database))
    credentials = tmp_path / "credentials.csv"
    sugang(
        "seed",
        "--students",
        "500",
        "--courses",
        "5",
        "--hot",
        "5",
        "--capacity",
        "30",
        "--seed",
        "3",
        "--credentials-out",
        str(credentials),
        database_url=pg_database,
    )

    with running_server(pg_database, workers=2, log=tmp_path / "server.log") as url:
        scenario = EnrollScenario(url, credentials, attempts_per_student=4, concurrency=200)
        result, term_id = asyncio.run(run_enroll_scenario(scenario))

    async def check() -> AuditReport:
        db = Database(Settings(database_url=pg_database))
        try:
            return await audit(db, term_id, result.answers)
        finally:
            await db.dispose()

    report = asyncio.run(check())
    assert len(result.answers) == 2000
    assert [a for a in result.answers if a.status >= 500] == []
    created = Counter(a.attempt.section_id for a in result.answers if a.status == 201)
    assert report.rows_per_section == created  # rows per section == 201s for it
    assert all(rows <= 30 for rows in report.rows_per_section.values())
    assert sum(created.values()) == 150  # 2,000 attempts for 150 seats fill every seat
    assert report.oversold == {} and report.counter_mismatches == {}
    assert report.duplicates == 0
    assert report.lost_acknowledgements == [] and report.unacknowledged_rows == []
    assert set(result.outcomes()) <= {"201", "SECTION_FULL", "ALREADY_ENROLLED"}


def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones(
    pg_database: str, tmp_path: Path
) -> None:
    asyncio.run(truncate(pg_database))
    sugang(
        "seed",
        "--students",
        "1",
        "--courses",
        "1",
        "--hot",
        "0",
        "--seed",
        "9",
        "--credentials-out",
        str(tmp_path / "c.csv"),
        database_url=pg_database,
    )
    process, base = start_server(pg_database, tmp_path / "server.log", 1)

    async def scenario() -> tuple[int, bool]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = (
                await http.post(
                    "/api/v1/auth/token",
                    data={"username": "s9-000000", "password": "synthetic-9-pw"},
                )
            ).json()["access_token"]
            section = (
                await http.get("/api/v1/sections", headers={"Authorization": f"Bearer {token}"})
            ).json()["items"][0]["id"]
            holder = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
            tx = holder.transaction()
            await tx.start()
            await holder.execute("SELECT 1 FROM students FOR UPDATE")  # the enroll will wait here
            in_flight = asyncio.create_task(
                http.post(
                    "/api/v1/enrollments",
                    json={"section_id": section},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            refused = _refuses(base)
            await tx.rollback()
            await holder.close()
            return (await in_flight).status_code, refused

    status, refused_new = asyncio.run(scenario())
    assert status == 201  # the request in flight at SIGTERM was finished
    assert refused_new  # while no new connection was accepted
    assert process.wait(timeout=30) in STOPPED


def _refuses(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except OSError:
        return True
