"""`sugang db backup|restore` against real databases: PostgreSQL (pg_dump/pg_restore of
Debian's client) in databases of their own, and SQLite files."""

import asyncio
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.support.server import sugang

pytestmark = pytest.mark.slow  # runs the sugang command, creates databases

COUNTS = (
    "SELECT (SELECT count(*) FROM students), (SELECT count(*) FROM sections),"
    " (SELECT coalesce(sum(capacity), 0) FROM sections)"
)


async def admin(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


@pytest.fixture
def two_databases(pg_database: str) -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases beside the test one, migrated to head."""
    plain = pg_database.replace("+asyncpg", "")
    names = ("sugang_backup_from", "sugang_backup_into")
    for name in names:
        asyncio.run(admin(plain, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        asyncio.run(admin(plain, f"CREATE DATABASE {name}"))
    base = pg_database.rsplit("/", 1)[0]
    urls = tuple(f"{base}/{name}" for name in names)
    for url in urls:
        sugang("db", "upgrade", database_url=url)
    try:
        yield urls[0], urls[1]
    finally:
        for name in names:
            asyncio.run(admin(plain, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def counts(url: str) -> tuple[int, ...]:
    return tuple(asyncio.run(admin(url.replace("+asyncpg", ""), COUNTS))[0])


def test_a_postgresql_backup_restores_into_an_empty_database_and_only_there(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, target = two_databases
    sugang("seed", "--students", "40", "--courses", "6", "--hot", "2", "--seed", "5",
           database_url=source)  # fmt: skip
    seeded = counts(source)
    assert seeded[0] == 40 and seeded[1] == 6
    file = tmp_path / "sugang.dump"

    made = sugang("db", "backup", str(file), database_url=source)
    assert "backed up to" in made.stdout
    assert file.read_bytes()[:5] == b"PGDMP" and stat.S_IMODE(file.stat().st_mode) == 0o600
    password = urlsplit(source).password
    assert password is None or password not in made.stdout + made.stderr

    restored = sugang("db", "restore", str(file), database_url=target)
    assert "restored" in restored.stdout
    assert counts(target) == seeded
    assert sugang("db", "wait", "--timeout", "3", database_url=target).returncode == 0

    sugang("seed", "--students", "41", "--courses", "7", "--hot", "2", "--seed", "6",
           database_url=source)  # fmt: skip
    newer = tmp_path / "newer.dump"
    sugang("db", "backup", str(newer), database_url=source)
    refused = sugang("db", "restore", str(newer), database_url=target, check=False)
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert counts(target) == seeded  # nothing changed

    broken = tmp_path / "broken.dump"
    broken.write_bytes(newer.read_bytes()[: len(newer.read_bytes()) // 2])
    half = sugang("db", "restore", str(broken), "--replace", database_url=target, check=False)
    assert half.returncode == 1 and "nothing was changed" in half.stderr
    assert counts(target) == seeded  # one transaction: all or nothing

    replaced = sugang("db", "restore", str(newer), "--replace", database_url=target)
    assert replaced.returncode == 0
    assert counts(target) == counts(source) != seeded


def test_a_sqlite_backup_round_trips_and_a_wrong_file_is_refused(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/from.db"
    target = f"sqlite+aiosqlite:///{tmp_path}/into.db"
    sugang("db", "upgrade", database_url=source)
    sugang("seed", "--students", "12", "--courses", "3", "--hot", "1", "--seed", "2",
           database_url=source)  # fmt: skip
    file = tmp_path / "sugang.sqlite"
    sugang("db", "backup", str(file), database_url=source)

    wrong = sugang("db", "restore", str(tmp_path / "from.db-nothing"), database_url=target,
                   check=False)  # fmt: skip
    assert wrong.returncode == 1 and "no such file" in wrong.stderr
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    refused = sugang("db", "restore", str(not_sqlite), database_url=target, check=False)
    assert refused.returncode == 1 and "not a SQLite backup" in refused.stderr

    sugang("db", "restore", str(file), database_url=target)
    with sqlite3.connect(tmp_path / "into.db") as db:
        assert db.execute("SELECT count(*) FROM students").fetchone()[0] == 12
    again = sugang("db", "restore", str(file), database_url=target, check=False)
    assert again.returncode == 1 and "--replace" in again.stderr
