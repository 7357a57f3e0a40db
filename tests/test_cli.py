"""The `sugang` commands, run as a user would, against a SQLite file."""

import asyncio
import csv
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from sugang.cli import app
from sugang.db.migrate import alembic_config
from tests.server import running_server, sugang

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "SUGANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "SUGANG_SECRET_KEY": "cli-test-secret-cli-test-secret-0123456789",
    }
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    return env


def test_db_upgrade_reports_the_revision(db_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "current"], env=db_env)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.exit_code == 0 and head is not None and head in result.output


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


def test_users_create_makes_a_professor(db_env: dict[str, str]) -> None:
    env = {**db_env, "SUGANG_NEW_USER_PASSWORD": "professor-password"}
    result = runner.invoke(
        app,
        ["users", "create", "--username", "prof.han", "--role", "professor", "--name", "한교수"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(
        app, ["users", "create", "--username", "prof.han", "--role", "professor"], env=env
    )
    assert duplicate.exit_code == 1 and "CONFLICT" in duplicate.output
    student_role = runner.invoke(
        app, ["users", "create", "--username", "x", "--role", "student"], env=env
    )
    assert student_role.exit_code == 2


def test_import_reports_bad_rows_and_writes_nothing(db_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "departments.csv"
    bad.write_text("code,name_ko,name_en\nCSE,컴퓨터공학과,CS\nbad code!,이상함,Odd\n")
    result = runner.invoke(app, ["import", "departments", str(bad)], env=db_env)
    assert result.exit_code == 1
    assert "IMPORT_INVALID" in result.output and "row 3" in result.output
    good = tmp_path / "good.csv"
    good.write_text("code,name_ko,name_en\nCSE,컴퓨터공학과,CS\n")
    imported = runner.invoke(app, ["import", "departments", str(good)], env=db_env)
    assert imported.exit_code == 0 and "1 created" in imported.output


def test_registrar_auto_enroll_command(db_env: dict[str, str]) -> None:
    runner.invoke(app, ["seed", "--demo"], env=db_env)
    result = runner.invoke(app, ["registrar", "auto-enroll", "--term", "2027-1"], env=db_env)
    assert result.exit_code == 0, result.output
    assert '"enrolled": 0' in result.output
    missing = runner.invoke(app, ["registrar", "auto-enroll", "--term", "1999-9"], env=db_env)
    assert missing.exit_code == 1 and "NOT_FOUND" in missing.output


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


def test_rush_mode_from_the_command_line(db_env: dict[str, str]) -> None:
    seeded = runner.invoke(
        app,
        ["seed", "--students", "3", "--courses", "2", "--hot", "1", "--seed", "8", "--rush-mode"],
        env=db_env,
    )
    assert seeded.exit_code == 0, seeded.output
    state = runner.invoke(app, ["registrar", "rush-mode", "--term", "SYN-8"], env=db_env)
    assert state.exit_code == 0 and '"rush_mode": true' in state.stdout
    changed = runner.invoke(
        app,
        [
            "registrar",
            "rush-mode",
            "--term",
            "SYN-8",
            "--off",
            "--mode",
            "adaptive",
            "--rate",
            "80",
        ],
        env=db_env,
    )
    assert changed.exit_code == 0, changed.output
    assert '"rush_mode": false' in changed.stdout and '"mode": "adaptive"' in changed.stdout
    bad_mode = runner.invoke(
        app, ["registrar", "rush-mode", "--term", "SYN-8", "--mode", "fast"], env=db_env
    )
    naive = runner.invoke(
        app,
        ["registrar", "rush-mode", "--term", "SYN-8", "--opens-at", "2027-02-15T10:00:00"],
        env=db_env,
    )
    assert bad_mode.exit_code == naive.exit_code == 2


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


def test_db_wait_returns_once_the_schema_is_at_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/wait.db"
    waiting = sugang("db", "wait", "--timeout", "3", database_url=url, check=False)
    assert waiting.returncode == 1 and "not " in waiting.stderr  # empty: not at head
    sugang("db", "upgrade", database_url=url)
    assert sugang("db", "wait", "--timeout", "3", database_url=url).returncode == 0
