"""`sugang seed --demo` and the synthetic seed."""

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sugang.cli import app
from tests.support.server import sugang

runner = CliRunner()


def test_seed_demo_prints_accounts_then_is_idempotent(db_env: dict[str, str]) -> None:
    first = runner.invoke(app, ["seed", "--demo"], env=db_env)
    assert first.exit_code == 0, first.output
    assert "20230001" in first.output and "sugang-demo-2027" in first.output
    second = runner.invoke(app, ["seed", "--demo"], env=db_env)
    assert second.exit_code == 0 and "already" in second.output


def test_seed_demo_is_refused_in_production(db_env: dict[str, str]) -> None:
    env = {**db_env, "SUGANG_ENVIRONMENT": "production"}
    result = runner.invoke(app, ["seed", "--demo"], env=env)
    assert result.exit_code == 1


def test_seed_needs_demo_or_students(db_env: dict[str, str]) -> None:
    assert runner.invoke(app, ["seed"], env=db_env).exit_code == 2
    assert runner.invoke(app, ["seed", "--demo", "--students", "3"], env=db_env).exit_code == 2


def test_synthetic_seed_is_deterministic_and_writes_credentials(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "credentials.csv"
    args = [
        "seed",
        "--students",
        "25",
        "--courses",
        "6",
        "--hot",
        "2",
        "--seed",
        "5",
        "--credentials-out",
        str(out),
        "--json",
    ]
    first = runner.invoke(app, args, env=db_env)
    assert first.exit_code == 0, first.output
    assert '"hot_section_ids": [\n    1,\n    2\n  ]' in first.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 25 and rows[0] == {
        "student_number": "s5-000000",
        "password": "synthetic-5-pw",
    }
    again = runner.invoke(app, args, env=db_env)
    assert again.exit_code == 0 and again.stdout == first.stdout


@pytest.mark.slow  # runs the sugang command
def test_a_seed_reused_with_another_shape_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/shape.db"
    sugang("db", "upgrade", database_url=url)
    sugang(
        "seed", "--students", "5", "--courses", "4", "--hot", "1", "--seed", "3", database_url=url
    )
    again = sugang(
        "seed",
        "--students",
        "5",
        "--courses",
        "6",
        "--hot",
        "1",
        "--seed",
        "3",
        database_url=url,
        check=False,
    )
    assert again.returncode == 2 and "exists with 4 sections, not 6" in again.stderr
