"""The rush over real HTTP: 2 worker processes on PostgreSQL, 2,000 attempts from 500 students
at 5 sections of 30 seats, fired concurrently. Nothing oversold, nothing doubled, nothing lost."""

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from sugang.bench.audit import AuditReport
from sugang.bench.enroll import EnrollScenario, audit, run_enroll_scenario
from sugang.config import Settings
from sugang.db import Database
from tests.conftest import _truncate
from tests.server import running_server, sugang

pytestmark = pytest.mark.slow


def test_two_thousand_concurrent_attempts_never_oversell(pg_database: str, tmp_path: Path) -> None:
    asyncio.run(_truncate(pg_database))
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
