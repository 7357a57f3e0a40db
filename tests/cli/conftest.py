"""The commands run as a user would: CliRunner in this process, against a SQLite file."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sugang.cli import app

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "SUGANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "SUGANG_SECRET_KEY": "cli-test-secret-cli-test-secret-0123456789",
    }
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    return env
