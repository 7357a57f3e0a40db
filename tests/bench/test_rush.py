"""`sugang bench rush` at a small size in the suite: through a real waiting room (Redis, two
worker processes, PostgreSQL), and its audit must pass."""

import asyncio
import json
import uuid
from pathlib import Path

import pytest
import redis

from tests.support.databases import truncate
from tests.support.server import running_server, sugang

pytestmark = pytest.mark.slow


def test_a_small_rush_through_the_waiting_room_passes_its_audit(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(truncate(pg_database))
    redis_db = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(redis_db).flushdb()
    monkeypatch.setenv("SUGANG_REDIS_URL", redis_db)
    report_file = tmp_path / "rush.json"
    sugang("db", "upgrade", database_url=pg_database)

    with running_server(pg_database, workers=2, log=tmp_path / "server.log") as url:
        result = sugang(
            "bench",
            "rush",
            "--url",
            url,
            "--students",
            "300",
            "--sections",
            "20",
            "--hot",
            "3",
            "--capacity",
            "10",
            "--concurrency",
            "50",
            "--admission-rate",
            "300",
            "--seed",
            str(uuid.uuid4().int % 1000 + 100),
            "--json",
            str(report_file),
            database_url=pg_database,
            check=False,
        )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert report["audit"]["ok"] and report["audit"]["oversold_seats"] == 0
    assert report["load"]["attempts"] == 1800 and report["load"]["server_errors"] == 0
    assert report["audit"]["enrollments"] == report["load"]["outcomes"]["201"]
    assert report["queue_wait_seconds"]["p50"] > 0  # everyone went through the room
    assert report["database_limit"]["statements_per_second"] > 0
    assert report["service_to_database_ratio"] > 0
    compared = sugang(
        "bench", "compare", str(report_file), str(report_file), database_url=pg_database
    )
    assert "attempts/s" in compared.stdout and "service / DB" in compared.stdout


def test_a_small_rush_sent_by_wrk_passes_its_audit_and_reports_its_cpu(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wrk driver (Debian's wrk, the Lua script sugang ships) through the room: every
    student admitted first, then the attempts; the audit by the 201s' enrollment ids."""
    asyncio.run(truncate(pg_database))
    redis_db = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(redis_db).flushdb()
    monkeypatch.setenv("SUGANG_REDIS_URL", redis_db)
    report_file, picture = tmp_path / "rush.json", tmp_path / "rush.png"
    sugang("db", "upgrade", database_url=pg_database)

    with running_server(pg_database, workers=2, log=tmp_path / "server.log") as url:
        result = sugang(
            "bench", "rush", "--url", url, "--driver", "wrk",
            "--students", "300", "--sections", "20", "--hot", "3", "--capacity", "10",
            "--concurrency", "50", "--admission-rate", "1000",
            "--seed", str(uuid.uuid4().int % 1000 + 100),
            "--json", str(report_file), "--plot", str(picture),
            database_url=pg_database,
            check=False,
        )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert report["audit"]["ok"] and report["audit"]["oversold_seats"] == 0
    assert report["load"]["driver"] == "wrk" and report["load"]["attempts"] == 1800
    assert report["load"]["server_errors"] == 0
    assert report["audit"]["enrollments"] == report["load"]["outcomes"]["201"] == 200
    assert report["fast_path"]["audit"]["ok"] and report["fast_path"]["server_errors"] == 0
    assert report["cpu"]["server_processes"] == 3  # uvicorn's supervisor and two workers
    assert report["cpu"]["ms_per_answer"]["server"] > 0
    assert report["cpu"]["ms_per_answer"]["load_generator"] > 0
    assert sum(row["answers"] for row in report["timeline"]) == 1800
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
