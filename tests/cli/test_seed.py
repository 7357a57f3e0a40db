"""`sugang seed --demo` and the synthetic seed."""

import csv
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sugang.cli import app
from sugang.seed.synthetic import SyntheticSpec, seed_synthetic
from tests.support.factories import Factory, login
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
    assert again.exit_code == 0
    before, after = json.loads(first.stdout), json.loads(again.stdout)
    # the same term; the registrar account's password is new at every seeding
    assert before.pop("admin_password") != after.pop("admin_password")
    assert before == after and before["admin_username"] == "synthetic-admin-5"


async def test_the_synthetic_registrar_has_a_random_password_that_works_once_printed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    spec = SyntheticSpec(students=3, courses=2, hot=1, seed=9)
    async with factory.db.transaction() as conn:
        first = await seed_synthetic(conn, spec, factory.services.clock)
    async with factory.db.transaction() as conn:
        second = await seed_synthetic(conn, spec, factory.services.clock)
    assert len(first.admin_password) >= 24 and first.admin_password != second.admin_password
    for guess in (spec.password, first.admin_password, "synthetic-9-pw"):
        refused = await client.post(
            "/api/v1/auth/token", data={"username": spec.admin_username, "password": guess}
        )
        assert refused.status_code == 401
    await login(client, spec.admin_username, second.admin_password)


def test_synthetic_seed_is_refused_in_production_without_the_flag(db_env: dict[str, str]) -> None:
    env = {
        **db_env,
        "SUGANG_ENVIRONMENT": "production",
        "SUGANG_SECRET_KEY": "a-private-random-value-of-32-chars-or-more",
    }
    args = ["seed", "--students", "3", "--courses", "2", "--hot", "1", "--seed", "4"]
    refused = runner.invoke(app, args, env=env)
    assert refused.exit_code == 2 and "--allow-production" in refused.output
    allowed = runner.invoke(app, [*args, "--allow-production"], env=env)
    assert allowed.exit_code == 0, allowed.output
    assert "every seeding sets a new one" in " ".join(allowed.output.split())


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
