"""`sugang bench rush`: the opening minute, reproduced against a running server.

1. Seed (or reset) a deterministic synthetic term through the database, and set its waiting
   room through the registrar API (so the server's own room, Redis or in-process, is used).
2. Log every student in (not timed).
3. Each of `concurrency` simulated students at a time: take a ticket, wait until admitted
   (polling as the ETA suggests), then fire their attempts with the admission pass.
4. Audit the database against every answer the clients saw.
5. The fast path, on a freshly reset term at the same concurrency: a burst of attempts that
   all claim a seat, then a burst at the sections it filled, which are all refused; their
   rates compared. Audited too.
6. Measure the database's own limit for the same seat-claim statement, pgbench-style: on
   PostgreSQL each client a plain asyncpg connection running BEGIN, the prepared claim, COMMIT,
   as many clients as the concurrency (capped by the connections PostgreSQL has free).
"""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

from sugang.bench.audit import audit_term
from sugang.bench.load import Answer, Attempt, Credential, LoadResult, login_all, post_attempt
from sugang.clock import utc_now
from sugang.config import Settings
from sugang.enrollment.fullness import TTL_SECONDS as FULL_FLAG_TTL_SECONDS
from sugang.enrollment.rules import SectionInfo, StudentInfo
from sugang.enrollment.service import CLAIM_SEAT_PG
from sugang.errors import AlreadyEnrolled
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm, seed_synthetic
from sugang.services import Services

# Connections left free for others (superuser slots, the server's pool growing) when the
# database's own limit is measured with as many clients as PostgreSQL will still take.
SPARE_CONNECTIONS = 10


class QueueRefused(Exception):
    """The waiting room refused a simulated student for good (not 429/503)."""


# Non-success answers of the waiting room, by status and code (retried ones included).
queue_errors: Counter[str] = Counter()


@dataclass(frozen=True)
class RushScenario:
    url: str
    students: int = 5000
    sections: int = 200
    hot: int = 10
    capacity: int = 40
    attempts_per_student: int = 6
    hot_share: float = 0.5
    concurrency: int = 200
    seed: int = 1
    waiting_room: bool = True
    admission_mode: str = "rate"
    admission_rate: float = 400.0
    measure_database: bool = True
    measure_fast_path: bool = True


@dataclass
class RushReport:
    scenario: dict[str, Any]
    load: dict[str, Any] = field(default_factory=dict)
    queue_wait_seconds: dict[str, float] = field(default_factory=dict)
    queue_errors: dict[str, int] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    fast_path: dict[str, Any] = field(default_factory=dict)
    database_limit: dict[str, Any] = field(default_factory=dict)
    service_to_database_ratio: float | None = None

    @property
    def ok(self) -> bool:
        probes_ok = not self.fast_path or (
            self.fast_path["audit"]["ok"] and self.fast_path["server_errors"] == 0
        )
        return bool(self.audit.get("ok")) and self.load.get("server_errors", 1) == 0 and probes_ok


def plan(term: SyntheticTerm, scenario: RushScenario) -> dict[str, list[int]]:
    """Each student's attempts: `hot_share` of them at hot sections, the rest elsewhere."""
    rng = random.Random(scenario.seed)
    hot = term.hot_section_ids or term.section_ids
    cold = [s for s in term.section_ids if s not in set(hot)] or hot
    hot_count = round(scenario.attempts_per_student * scenario.hot_share)
    return {
        number: [rng.choice(hot) for _ in range(hot_count)]
        + [rng.choice(cold) for _ in range(scenario.attempts_per_student - hot_count)]
        for number in term.student_numbers
    }


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))], 3)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


async def prepare(services: Services, scenario: RushScenario) -> SyntheticTerm:
    spec = SyntheticSpec(
        students=scenario.students,
        courses=scenario.sections,
        hot=scenario.hot,
        seed=scenario.seed,
        capacity=scenario.capacity,
    )
    async with services.db.transaction() as conn:
        return await seed_synthetic(conn, spec, services.clock)


async def configure_room(url: str, term: SyntheticTerm, scenario: RushScenario) -> None:
    spec = SyntheticSpec(students=1, courses=1, hot=0, seed=scenario.seed)
    async with aiohttp.ClientSession(url) as http:
        form = {"username": spec.admin_username, "password": spec.password}
        async with http.post("/api/v1/auth/token", data=form) as r:
            token = (await r.json())["access_token"]
        body = {
            "rush_mode": scenario.waiting_room,
            "reset": True,
            "accepting": True,
            "paused": False,
            "mode": scenario.admission_mode,
            "rate": scenario.admission_rate,
            "opens_at": utc_now().isoformat(),
        }
        async with http.patch(
            f"/api/v1/admin/terms/{term.term_id}/waiting-room",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as r:
            if r.status != 200:
                raise RuntimeError(f"could not set the waiting room: {await r.text()}")


async def run_students(
    url: str,
    tokens: dict[str, str],
    attempts: dict[str, list[int]],
    scenario: RushScenario,
    on_answer: Callable[[Answer], None] | None = None,
) -> tuple[list[Answer], list[float], float, dict[str, dict[str, str]]]:
    """The rush; returns the answers, the queue waits, the wall time, and each admitted
    student's request headers (their pass included) for the probes that follow."""
    answers: list[Answer] = []
    waits: list[float] = []
    admitted: dict[str, dict[str, str]] = {}
    pending = list(reversed(list(attempts)))
    queue_errors.clear()
    connector = aiohttp.TCPConnector(limit=scenario.concurrency)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:

        async def queue_call(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
            """One waiting-room request, retried (as a browser would) after 429 or 503."""
            for _ in range(30):
                async with http.request(method, path, headers=headers) as r:
                    body: dict[str, Any] = await r.json(content_type=None) or {}
                    if r.status < 400:
                        return body
                    queue_errors[f"{r.status} {body.get('code', '')}".strip()] += 1
                    if r.status not in (429, 503):
                        raise QueueRefused(body.get("code", str(r.status)))
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            raise QueueRefused("GAVE_UP")

        async def student_journey(number: str) -> None:
            headers = {"Authorization": f"Bearer {tokens[number]}"}
            if scenario.waiting_room:
                joined = time.perf_counter()
                try:
                    ticket = await queue_call("POST", "/api/v1/queue/tickets", headers)
                    while not ticket.get("admitted"):
                        await asyncio.sleep(ticket.get("poll_after_seconds") or 1.0)
                        path = f"/api/v1/queue/tickets/{ticket['ticket']}"
                        ticket = {**ticket, **await queue_call("GET", path, headers)}
                except QueueRefused:
                    return
                waits.append(time.perf_counter() - joined)
                headers["X-Admission-Token"] = ticket["access_token"]
            admitted[number] = headers
            for section_id in attempts[number]:
                answer = await post_attempt(http, Attempt(number, section_id), headers)
                answers.append(answer)
                if on_answer:
                    on_answer(answer)

        async def worker() -> None:
            while pending:
                await student_journey(pending.pop())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(scenario.concurrency, len(pending)))))
        return answers, waits, time.perf_counter() - started, admitted


async def burst(
    url: str, headers: dict[str, dict[str, str]], attempts: list[Attempt], concurrency: int
) -> tuple[list[Answer], float]:
    """Fire `attempts` (no queue: the students hold passes already) with `concurrency` in
    flight; the answers and the wall time."""
    answers: list[Answer] = []
    pending = list(reversed(attempts))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector) as http:

        async def worker() -> None:
            while pending:
                attempt = pending.pop()
                answers.append(await post_attempt(http, attempt, headers[attempt.student_number]))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(attempts)))))
        return answers, time.perf_counter() - started


def seat_filling_plan(term: SyntheticTerm, students: list[str], capacity: int) -> list[Attempt]:
    """One attempt per student, hot sections first (they lead `section_ids`), never more
    attempts at a section than its seats: on a fresh term every one of them claims a seat."""
    slots = [section for section in term.section_ids for _ in range(capacity)]
    return [Attempt(n, section) for n, section in zip(students, slots, strict=False)]


async def measure_fast_path(
    services: Services,
    url: str,
    headers: dict[str, dict[str, str]],
    scenario: RushScenario,
) -> dict[str, Any]:
    """Claims/s of a burst that fills sections, then refusals/s of a burst at those now-full
    sections, both through the server at the rush's concurrency, then the probe's audit."""
    term = await prepare(services, scenario)
    await asyncio.sleep(FULL_FLAG_TTL_SECONDS + 0.5)  # the rush's full flags have lapsed
    numbers = [n for n in term.student_numbers if n in headers]
    claims_plan = seat_filling_plan(term, numbers, scenario.capacity)
    claims, claim_seconds = await burst(url, headers, claims_plan, scenario.concurrency)
    filled = sorted({a.section_id for a in claims_plan})
    full = [s for s in filled if sum(a.section_id == s for a in claims_plan) >= scenario.capacity]
    rng = random.Random(scenario.seed)
    refusals_plan = [Attempt(n, rng.choice(full)) for n in numbers] if full else []
    refusals, refusal_seconds = await burst(url, headers, refusals_plan, scenario.concurrency)
    told = [(a.attempt.student_number, a.attempt.section_id) for a in claims if a.status == 201]
    async with services.db.transaction(write=False) as conn:
        audit = (await audit_term(conn, term.term_id, told)).summary()
    claims_per_second = sum(a.status == 201 for a in claims) / claim_seconds
    refused = sum(a.code == "SECTION_FULL" for a in refusals)
    refusals_per_second = refused / refusal_seconds if refusals else 0.0
    return {
        "claims": len(claims),
        "claims_per_second": round(claims_per_second, 1),
        "claim_outcomes": dict(LoadResult(claims).outcomes()),
        "claim_latency_ms": LoadResult(claims, claim_seconds).summary()["latency_ms"],
        "refusals": len(refusals),
        "refusals_per_second": round(refusals_per_second, 1),
        "refusal_outcomes": dict(LoadResult(refusals).outcomes()),
        "refusal_latency_ms": LoadResult(refusals, refusal_seconds).summary()["latency_ms"],
        "refusals_to_claims_ratio": round(refusals_per_second / claims_per_second, 2)
        if claims_per_second
        else None,
        "server_errors": sum(a.status >= 500 for a in claims + refusals),
        "audit": audit,
    }


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
    statement = CLAIM_SEAT_PG.compile(dialect=services.db.engine.dialect)
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
        sections: dict[int, SectionInfo] = await services.catalog.sections(conn, term.section_ids)
    work = _planned_work(term, attempts)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for student_id, section_id in work:
        student = StudentInfo(student_id, 1, 0, versions[student_id])
        try:
            async with services.db.transaction() as conn:
                row = await services.enrollment.claim_seat(
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


async def run_rush(
    scenario: RushScenario,
    settings: Settings,
    say: Callable[[str], None] = lambda _: None,
    on_answer: Callable[[Answer], None] | None = None,
) -> RushReport:
    report = RushReport(scenario=asdict(scenario))
    settings = settings.model_copy(update={"db_pool_size": 4, "db_max_overflow": 0})
    services = Services.from_settings(settings)
    try:
        say("seeding the synthetic term")
        term = await prepare(services, scenario)
        await configure_room(scenario.url, term, scenario)
        attempts = plan(term, scenario)
        say(f"logging {len(term.student_numbers)} students in (not timed)")
        credentials = [Credential(n, term.password) for n in term.student_numbers]
        tokens, login_seconds = await login_all(scenario.url, credentials, scenario.concurrency)
        say("the rush")
        answers, waits, wall, admitted = await run_students(
            scenario.url, tokens, attempts, scenario, on_answer
        )
        load = LoadResult(answers, wall, login_seconds, len(tokens))
        report.load = load.summary()
        report.queue_wait_seconds = quantiles(waits)
        report.queue_errors = dict(queue_errors)
        say("auditing")
        told = [
            (a.attempt.student_number, a.attempt.section_id) for a in answers if a.status == 201
        ]
        async with services.db.transaction(write=False) as conn:
            report.audit = (await audit_term(conn, term.term_id, told)).summary()
        if scenario.measure_fast_path:
            say("the fast path: a burst of claims, then one of refusals")
            report.fast_path = await measure_fast_path(services, scenario.url, admitted, scenario)
        if scenario.measure_database:
            say("measuring the database's own limit")
            term = await prepare(services, scenario)  # empty seats again
            report.database_limit = await measure_database(
                services, term, attempts, scenario.concurrency
            )
            limit = report.database_limit["statements_per_second"]
            report.service_to_database_ratio = round(load.attempts_per_second / limit, 3)
        await prepare(services, scenario)  # leave the term as a fresh rush
    finally:
        await services.close()
    return report
