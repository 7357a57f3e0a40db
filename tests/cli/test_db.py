"""`sugang db upgrade|current|wait`."""

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
