"""The app through a real PgBouncer in transaction mode (Debian's pgbouncer, started here on a
spare port in front of the test PostgreSQL), as the ha overlay runs it behind CloudNativePG's
Pooler: the invariants hold under concurrent enrollments, and the plain configuration is
refused by the pooler (which is why `SUGANG_DB_POOLER=pgbouncer` exists).

Debian 12's PgBouncer is 1.18, older than the protocol-level prepared statements of 1.21
(`max_prepared_statements`, which the kit's Pooler sets): a statement run outside a
transaction (the optimistic claim) may be prepared on one server connection and executed on
another there, so only enrollments in a transaction are run through it here. The optimistic
path through the Pooler's PgBouncer (1.25 with CloudNativePG 1.28) was not run here."""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from random import Random
from urllib.parse import urlsplit

import asyncpg
import pytest
from sqlalchemy import text

from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.db.engine import Database
from sugang.errors import SugangError
from sugang.runtime import Services
from tests.enrollment.test_concurrency import assert_invariants
from tests.support.databases import OPENING, TEST_SECRET, truncate
from tests.support.factories import Factory
from tests.support.server import SUGANG, env_for

pytestmark = pytest.mark.slow  # starts a PgBouncer

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pooled_url(pg_database: str) -> Iterator[str]:
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is needed (Debian's package): `make test` installs it")
    # PgBouncer will not run as root: as root, it is told to switch to Debian's postgres user,
    # which must be able to write its log
    work = Path(tempfile.mkdtemp(prefix="sugang-pgbouncer-"))
    run_as = ""
    if os.geteuid() == 0:
        shutil.chown(work, user="postgres")
        run_as = "user = postgres\n"
    asyncio.run(truncate(pg_database))
    target = urlsplit(pg_database.replace("+asyncpg", ""))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = target.path.lstrip("/")
    (work / "pgbouncer.ini").write_text(
        f"""[databases]
{database} = host={target.hostname} port={target.port or 5432} dbname={database} \
user={target.username}
[pgbouncer]
{run_as}
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
"""
    )
    bouncer = subprocess.Popen(
        [PGBOUNCER, str(work / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not answers(port):
        assert time.monotonic() < deadline, (work / "pgbouncer.log").read_text()
        time.sleep(0.1)
    try:
        yield f"postgresql+asyncpg://{target.username}@127.0.0.1:{port}/{database}"
    finally:
        bouncer.terminate()
        bouncer.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def services_for(url: str, pooler: str) -> Services:
    settings = Settings(
        environment="test",
        database_url=url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        db_pool_size=30,
        db_pooler=pooler,  # type: ignore[arg-type]
    )
    return Services(
        settings=settings, db=Database(settings), clock=FixedClock(OPENING), rng=Random(7)
    )


async def test_through_pgbouncer_in_transaction_mode_no_seat_is_oversold(pooled_url: str) -> None:
    services = services_for(pooled_url, "pgbouncer")
    factory = Factory(services)
    try:
        term = await factory.term()
        section = await factory.section(term, capacity=10)
        students = await factory.students(60)

        async def attempt(student: int) -> str:
            try:
                outcome = await services.db.run(
                    lambda conn: services.enrollment.enroll_in(conn, student, section)
                )
            except SugangError as refusal:
                return refusal.code
            return type(outcome).__name__

        # 60 clients share 8 server connections: one client's statements run on several
        outcomes = Counter(await asyncio.gather(*(attempt(s) for s in students)))
        assert outcomes == {"Enrolled": 10, "SECTION_FULL": 50}
        assert await factory.seats(section) == (10, 10)
        await assert_invariants(services)
    finally:
        await services.close()


async def test_the_plain_configuration_is_refused_by_the_pooler(pooled_url: str) -> None:
    """Without SUGANG_DB_POOLER=pgbouncer the app sends its timeouts as startup parameters,
    which PgBouncer does not take: the setting is needed, not decoration."""
    plain = services_for(pooled_url, "none")
    try:
        with pytest.raises(Exception, match="unsupported startup parameter"):
            async with plain.db.transaction(write=False) as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await plain.close()


def test_the_migration_gives_the_role_the_timeouts_the_pooler_cannot_pass(
    pg_database: str,
) -> None:
    """`sugang db upgrade` behind a pooler sets the app's timeouts as its role's defaults, so
    every server connection PgBouncer opens for it has them. Run as a role of its own here, so
    that no other test's connections get them."""
    target = urlsplit(pg_database.replace("+asyncpg", ""))
    admin = pg_database.replace("+asyncpg", "")
    role = "sugang_pooled_test"

    async def run(sql: str, url: str = admin) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

    asyncio.run(run(f"DROP ROLE IF EXISTS {role}"))
    asyncio.run(run(f"CREATE ROLE {role} LOGIN"))
    asyncio.run(run(f"GRANT USAGE ON SCHEMA public TO {role}"))
    asyncio.run(run(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
    as_role = f"postgresql://{role}@{target.hostname}:{target.port or 5432}{target.path}"
    try:
        before = asyncio.run(run("SHOW statement_timeout", as_role))
        assert before[0][0] == "0"
        answer = subprocess.run(
            [SUGANG, "db", "upgrade"],
            env=env_for(as_role.replace("postgresql://", "postgresql+asyncpg://"))
            | {"SUGANG_DB_POOLER": "pgbouncer", "SUGANG_DB_STATEMENT_TIMEOUT_MS": "7000"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert answer.returncode == 0, answer.stderr
        after = asyncio.run(run("SHOW statement_timeout", as_role))
        idle = asyncio.run(run("SHOW idle_in_transaction_session_timeout", as_role))
        assert (after[0][0], idle[0][0]) == ("7s", "30s")
    finally:
        asyncio.run(run(f"DROP OWNED BY {role}"))
        asyncio.run(run(f"DROP ROLE {role}"))
