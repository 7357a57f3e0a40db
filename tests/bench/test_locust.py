"""locustfile.py runs the real student journey (login, ticket, wait, enroll, drop) against a
real server in rush mode, with no failures."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import env_for, running_server, sugang

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


def test_the_locust_journey_runs_without_failures(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locust.db'}"
    credentials = tmp_path / "credentials.csv"
    sugang("db", "upgrade", database_url=url)
    sugang(
        "seed",
        "--students",
        "30",
        "--courses",
        "10",
        "--hot",
        "2",
        "--capacity",
        "5",
        "--seed",
        "6",
        "--rush-mode",
        "--credentials-out",
        str(credentials),
        database_url=url,
    )

    with running_server(url, workers=1, log=tmp_path / "server.log") as base:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(ROOT / "locustfile.py"),
                "--headless",
                "-u",
                "10",
                "-r",
                "10",
                "-t",
                "6s",
                "--host",
                base,
                "--csv",
                str(tmp_path / "run"),
                "--only-summary",
            ],
            env={
                **env_for(url),
                "SUGANG_CREDENTIALS": str(credentials),
                "SUGANG_HOT_SECTIONS": "2",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 0, result.stderr[-2000:]
    stats = (tmp_path / "run_stats.csv").read_text().splitlines()
    rows = {r["Name"]: r for r in csv.DictReader(stats)}
    assert rows["Aggregated"]["Failure Count"] == "0"
    assert int(rows["enroll"]["Request Count"]) > 0
    assert int(rows["waited until admitted"]["Request Count"]) > 0
