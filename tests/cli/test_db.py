"""`sugang db upgrade|current|wait`."""

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

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


@pytest.mark.slow  # runs sugang db upgrade against a PostgreSQL that comes up late
def test_db_upgrade_waits_for_a_database_still_starting(pg_database: str) -> None:
    """The migration Job's first run may start before PostgreSQL answers: with --wait it tries
    again instead of crashing (a crash loop is what `sugang deploy` reports as a failure). The
    database here comes up 8 s late: a TCP relay on a spare port starts forwarding then."""
    target = urlsplit(pg_database.replace("+asyncpg", ""))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay = subprocess.Popen(
        [sys.executable, "-c", RELAY, str(port), target.hostname or "127.0.0.1",
         str(target.port or 5432)]
    )  # fmt: skip
    late = pg_database.replace(f"{target.hostname}:{target.port or 5432}", f"127.0.0.1:{port}")
    try:
        started = time.monotonic()
        gave_up = sugang("db", "upgrade", database_url=late, check=False)
        assert time.monotonic() - started < LATE, "too slow to see the database down"
        assert gave_up.returncode != 0  # without --wait: refused at once
        waited = sugang("db", "upgrade", "--wait", "30", database_url=late, check=False)
        assert waited.returncode == 0, waited.stderr
        assert "database at revision" in waited.stdout
    finally:
        relay.kill()
        relay.wait()


LATE = 8
RELAY = f"""
import asyncio, sys
port, host, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()

async def relay(reader, writer):
    upstream_reader, upstream_writer = await asyncio.open_connection(host, target)
    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

async def main():
    await asyncio.sleep({LATE})
    server = await asyncio.start_server(relay, "127.0.0.1", port)
    async with server:
        await asyncio.sleep(60)

asyncio.run(main())
"""
