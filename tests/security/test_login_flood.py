"""A login flood, bounded and on loopback: bots send wrong passwords for real student numbers
from 20 addresses, as fast as they are answered and ignoring Retry-After, while students log in
as the web UI does. Every student gets in within the stated time (`--max-login-seconds`); the
bots are throttled. Through `sugang bench logins`, against a real server with two workers and
the production protections on."""

import asyncio
import json
from pathlib import Path

import pytest

from tests.support.databases import truncate
from tests.support.server import running_server, sugang

pytestmark = pytest.mark.slow

STATED_SECONDS = 5


def test_students_get_in_while_bots_flood_the_login(pg_database: str, tmp_path: Path) -> None:
    asyncio.run(truncate(pg_database))
    sugang("db", "upgrade", database_url=pg_database)
    credentials = tmp_path / "students.csv"
    sugang(
        "seed",
        "--students",
        "60",
        "--courses",
        "20",
        "--credentials-out",
        str(credentials),
        database_url=pg_database,
    )
    report_file = tmp_path / "logins.json"
    protections = {"SUGANG_RATE_LIMIT_ENABLED": "true", "SUGANG_ACCESS_LOG": "false"}

    with running_server(pg_database, 2, tmp_path / "server.log", env=protections) as url:
        result = sugang(
            "bench",
            "logins",
            "--url",
            url,
            "--credentials",
            str(credentials),
            "--concurrency",
            "4",
            "--flood-addresses",
            "20",
            "--flood-concurrency",
            "60",
            "--max-login-seconds",
            str(STATED_SECONDS),
            "--json",
            str(report_file),
            database_url=pg_database,
            check=False,
        )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert report["logins"] == 60 and report["failed_logins"] == 0
    assert report["login_ms"]["max"] <= STATED_SECONDS * 1000
    answers = report["flood"]["answers"]
    assert answers.get("429 LOGIN_THROTTLED", 0) + answers.get("503 LOGIN_BUSY", 0) > 0
    assert not [a for a in answers if a.startswith("5") and a != "503 LOGIN_BUSY"]
