"""Whole-database backups: PostgreSQL's own pg_dump and pg_restore (custom format), SQLite's
online backup API. The password travels in the environment (PGPASSWORD), never on a command
line another user could read."""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

# a restore into a database holding any of these asks for --replace
DATA_TABLES = ("students", "enrollments", "sections", "terms")
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class DumpError(Exception):
    """What the operator must fix before a backup or restore can run."""


@dataclass(frozen=True)
class Target:
    """The database of a SQLAlchemy URL, as the command-line tools want it."""

    url: str

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        database = make_url(self.url).database
        if not database or database == ":memory:":
            raise DumpError("an in-memory SQLite database has nothing to back up")
        return Path(database)

    def libpq(self) -> tuple[list[str], dict[str, str]]:
        """(connection arguments, environment) for pg_dump and pg_restore."""
        url = make_url(self.url)
        arguments = [
            f"--host={url.host or '127.0.0.1'}",
            f"--port={url.port or 5432}",
            f"--username={url.username or 'postgres'}",
            f"--dbname={url.database}",
        ]
        environment = {**os.environ}
        if url.password:
            environment["PGPASSWORD"] = str(url.password)
        return arguments, environment


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DumpError(
            f"{name} is not installed: it comes with PostgreSQL's client (Debian/Ubuntu: "
            "apt-get install postgresql-client; its version must be at least the server's)"
        )
    return found


def backup(target: Target, file: Path) -> int:
    """Write the whole database to `file` (written beside it first, then moved: a failed
    backup leaves no half file under the name). Its size in bytes."""
    partial = file.with_name(file.name + ".partial")
    try:
        if target.is_sqlite:
            source = sqlite3.connect(target.sqlite_path)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # consistent while the server writes
            finally:
                copy.close()
                source.close()
        else:
            arguments, environment = target.libpq()
            answer = subprocess.run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 f"--file={partial}", *arguments],
                env=environment, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if answer.returncode != 0:
                raise DumpError(f"pg_dump failed:\n{answer.stderr.strip()}")
        partial.chmod(0o600)
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return file.stat().st_size


async def rows_in(engine: AsyncEngine) -> int:
    """How many rows the database holds in the tables that matter (0 when empty or new)."""
    async with engine.connect() as conn:
        present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        if not set(DATA_TABLES) <= present:
            return 0
        total = 0
        for table in DATA_TABLES:  # fixed names, no input
            total += int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
        return total


def restore(target: Target, file: Path) -> None:
    """Replace the database's contents with the backup's, all or nothing (one transaction
    for PostgreSQL; the file swapped in whole for SQLite)."""
    if not file.is_file():
        raise DumpError(f"{file}: no such file")
    head = file.read_bytes()[:16]
    if target.is_sqlite:
        if head != SQLITE_MAGIC:
            raise DumpError(f"{file} is not a SQLite backup (made by `sugang db backup`)")
        incoming = sqlite3.connect(file)
        destination = sqlite3.connect(target.sqlite_path)
        try:
            incoming.backup(destination)
        finally:
            destination.close()
            incoming.close()
        return
    if not head.startswith(PGDUMP_MAGIC):
        raise DumpError(f"{file} is not a pg_dump archive (made by `sugang db backup`)")
    arguments, environment = target.libpq()
    answer = subprocess.run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", *arguments, str(file)],
        env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if answer.returncode != 0:
        raise DumpError(f"pg_restore failed, nothing was changed:\n{answer.stderr.strip()}")
