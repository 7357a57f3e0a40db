"""The database's own limit for the seat claim, measured pgbench-style: on PostgreSQL each
client a plain asyncpg connection running BEGIN, the prepared claim, COMMIT, as many clients
as the concurrency (capped by the connections PostgreSQL has free). The service's attempts/s
are measured against it."""

import asyncio
import random
import time
from collections import Counter
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

from sugang.catalog.facts import SectionInfo
from sugang.enrollment import seats
from sugang.enrollment.rules import StudentInfo
from sugang.errors import AlreadyEnrolled
from sugang.runtime import Services
from sugang.seed.synthetic import SyntheticTerm

# Connections left free for others (superuser slots, the server's pool growing) when the
# database's own limit is measured with as many clients as PostgreSQL will still take.
SPARE_CONNECTIONS = 10


def _planned_work(term: SyntheticTerm, attempts: dict[str, list[int]]) -> list[tuple[int, int]]:
    ids = dict(zip(term.student_numbers, term.student_ids, strict=True))
    work = [(ids[n], s) for n, sections in attempts.items() for s in sections]
    random.Random(0).shuffle(work)
    return work


async def free_connections(services: Services) -> int:
    """How many more connections PostgreSQL will accept now, less a margin."""
    async with services.db.transaction(write=False) as conn:
        limit = int(await conn.scalar(text("SELECT current_setting('max_connections')::int")))
        used = int(await conn.scalar(text("SELECT count(*) FROM pg_stat_activity")))
    return max(1, limit - used - SPARE_CONNECTIONS)


async def student_versions(services: Services, term: SyntheticTerm) -> dict[int, int]:
    """Each student's current version: the claim statement checks the one it is given."""
    async with services.db.transaction(write=False) as conn:
        rows = await conn.execute(
            text("SELECT id, version FROM students WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": term.student_ids},
        )
        return {r.id: r.version for r in rows}


async def measure_database(
    services: Services, term: SyntheticTerm, attempts: dict[str, list[int]], clients: int
) -> dict[str, Any]:
    """The seat-claim statement alone, each in its own transaction, as fast as `clients`
    connections can issue it: the ceiling the service is measured against."""
    versions = await student_versions(services, term)
    if services.db.is_sqlite:
        return await _measure_sqlite(services, term, attempts, versions)
    clients = min(clients, await free_connections(services))
    statement = seats.CLAIM_SEAT_PG.compile(dialect=services.db.engine.dialect)
    sql, order = str(statement), statement.positiontup or []
    dsn = make_url(services.settings.database_url).set(drivername="postgresql")
    work = _planned_work(term, attempts)
    # Each student's attempts on one client, in order, as one student's clicks come.
    queues: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
    for student_id, section_id in reversed(work):
        queues[student_id % clients].append((student_id, section_id))
    counts: Counter[str] = Counter()
    now = services.clock()

    async def client(conn: asyncpg.Connection, pending: list[tuple[int, int]]) -> None:
        claim = await conn.prepare(sql)
        while pending:
            student_id, section_id = pending.pop()
            values = {
                "student_id": student_id,
                "version": versions[student_id],
                "catalog_version": None,
                "section_id": section_id,
                "source": "live",
                "now": now,
                "actor_id": None,
                "action": "enroll",
            }
            try:
                async with conn.transaction():
                    row = await claim.fetchrow(*(values[name] for name in order))
                if row["judged"]:
                    versions[student_id] += 1
                counts["claimed" if row["id"] else "refused_full"] += 1
            except asyncpg.UniqueViolationError:  # a second section of one course
                counts["refused_duplicate"] += 1

    connections = [
        await asyncpg.connect(dsn.render_as_string(hide_password=False)) for _ in range(clients)
    ]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(c, q) for c, q in zip(connections, queues, strict=True)))
        seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))
    return {
        "how": "asyncpg, BEGIN + prepared claim + COMMIT per attempt",
        "clients": clients,
        "statements": len(work),
        "seconds": round(seconds, 3),
        "statements_per_second": round(len(work) / seconds, 1),
        **counts,
    }


async def _measure_sqlite(
    services: Services,
    term: SyntheticTerm,
    attempts: dict[str, list[int]],
    versions: dict[int, int],
) -> dict[str, Any]:
    """SQLite has one writer at a time: one client, the claim in its own transaction."""
    async with services.db.transaction(write=False) as conn:
        sections: dict[int, SectionInfo] = await services.catalog_cache.sections(
            conn, term.section_ids
        )
    work = _planned_work(term, attempts)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for student_id, section_id in work:
        student = StudentInfo(student_id, 1, 0, versions[student_id])
        try:
            async with services.db.transaction() as conn:
                row = await seats.claim(
                    conn, student, sections[section_id], "live", None, services.clock()
                )
            versions[student_id] += 1
            counts["claimed" if row else "refused_full"] += 1
        except AlreadyEnrolled:
            counts["refused_duplicate"] += 1
    seconds = time.perf_counter() - started
    return {
        "how": "one client, the claim statements in one transaction per attempt",
        "clients": 1,
        "statements": len(work),
        "seconds": round(seconds, 3),
        "statements_per_second": round(len(work) / seconds, 1),
        **counts,
    }
