"""`sugang db upgrade|current|wait`."""

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from sugang.cli import app
from sugang.db.migrate import alembic_config
from tests.support.server import sugang

runner = CliRunner()


def test_db_upgrade_reports_the_revision(db_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "current"], env=db_env)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.exit_code == 0 and head is not None and head in result.output


@pytest.mark.slow  # runs sugang db wait against a database that comes up
def test_db_wait_returns_once_the_schema_is_at_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/wait.db"
    waiting = sugang("db", "wait", "--timeout", "3", database_url=url, check=False)
    assert waiting.returncode == 1 and "not " in waiting.stderr  # empty: not at head
    sugang("db", "upgrade", database_url=url)
    assert sugang("db", "wait", "--timeout", "3", database_url=url).returncode == 0


@pytest.mark.slow  # runs sugang db wait
def test_db_wait_lets_older_code_serve_a_later_schema_that_still_serves_it(
    tmp_path: Path,
) -> None:
    """A pod of the release before a migration (a rollback, the old ReplicaSet scaled up
    during a rollout) starts if the later schema says it still serves this code's head
    (an expand-only migration), and waits if it does not (a contract)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/later.db"
    sugang("db", "upgrade", database_url=url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with sqlite3.connect(tmp_path / "later.db") as db:  # as a later release's migration leaves it
        db.execute("UPDATE alembic_version SET version_num = '9999'")
        db.execute("UPDATE schema_compatibility SET oldest_code_revision = ?", (head,))
    assert sugang("db", "wait", "--timeout", "3", database_url=url).returncode == 0
    with sqlite3.connect(tmp_path / "later.db") as db:
        db.execute("UPDATE schema_compatibility SET oldest_code_revision = '9999'")
    refused = sugang("db", "wait", "--timeout", "3", database_url=url, check=False)
    assert refused.returncode == 1 and "9999" in refused.stderr
