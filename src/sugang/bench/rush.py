"""`sugang bench rush`: the opening minute, reproduced against a running server.

1. Seed (or reset) a deterministic synthetic term through the database, and set its waiting
   room through the registrar API (so the server's own room, Redis or in-process, is used).
2. Log every student in (not timed).
3. Each of `concurrency` simulated students at a time: take a ticket, wait until admitted
   (polling as the ETA suggests), then fire their attempts with the admission pass.
4. Audit the database against every answer the clients saw.
5. Measure the database's own limit for the same seat-claim statement, at the same
   concurrency (capped by the connections PostgreSQL allows), on a freshly reset term.
"""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from sugang.bench.audit import audit_term
from sugang.bench.load import Answer, Attempt, Credential, LoadResult, login_all, post_attempt
from sugang.clock import utc_now
from sugang.config import Settings
from sugang.enrollment.rules import SectionInfo
from sugang.errors import AlreadyEnrolled
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm, seed_synthetic
from sugang.services import Services

MAX_DB_CLIENTS = 32  # PostgreSQL's default max_connections is 100; the server holds its own


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


@dataclass
class RushReport:
    scenario: dict[str, Any]
    load: dict[str, Any] = field(default_factory=dict)
    queue_wait_seconds: dict[str, float] = field(default_factory=dict)
    queue_errors: dict[str, int] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    database_limit: dict[str, Any] = field(default_factory=dict)
    service_to_database_ratio: float | None = None

    @property
    def ok(self) -> bool:
        return bool(self.audit.get("ok")) and self.load.get("server_errors", 1) == 0


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
) -> tuple[list[Answer], list[float], float]:
    answers: list[Answer] = []
    waits: list[float] = []
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
                        eta = ticket.get("eta_seconds") or 0.5
                        await asyncio.sleep(min(2.0, max(0.05, eta / 2)))
                        path = f"/api/v1/queue/tickets/{ticket['ticket']}"
                        ticket = {**ticket, **await queue_call("GET", path, headers)}
                except QueueRefused:
                    return
                waits.append(time.perf_counter() - joined)
                headers["X-Admission-Token"] = ticket["access_token"]
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
        return answers, waits, time.perf_counter() - started


async def measure_database(
    services: Services, term: SyntheticTerm, attempts: dict[str, list[int]], clients: int
) -> dict[str, Any]:
    """The seat-claim statement alone, each in its own transaction, as fast as `clients`
    connections can issue it: the ceiling the service is measured against."""
    ids = dict(zip(term.student_numbers, term.student_ids, strict=True))
    work = [(ids[n], s) for n, sections in attempts.items() for s in sections]
    random.Random(0).shuffle(work)
    async with services.db.transaction(write=False) as conn:
        sections: dict[int, SectionInfo] = await services.catalog.sections(conn, term.section_ids)
    claimed = refused = duplicates = 0
    pending = list(work)

    async def client() -> None:
        nonlocal claimed, refused, duplicates
        while pending:
            student_id, section_id = pending.pop()
            try:
                async with services.db.transaction() as conn:
                    row = await services.enrollment.claim_seat(
                        conn, student_id, sections[section_id], "live", None, services.clock()
                    )
                if row is None:
                    refused += 1
                else:
                    claimed += 1
            except AlreadyEnrolled:  # the unique index refused a second section of a course
                duplicates += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    seconds = time.perf_counter() - started
    return {
        "clients": clients,
        "statements": len(work),
        "seconds": round(seconds, 3),
        "statements_per_second": round(len(work) / seconds, 1),
        "claimed": claimed,
        "refused_full": refused,
        "refused_duplicate": duplicates,
    }


async def run_rush(
    scenario: RushScenario,
    settings: Settings,
    say: Callable[[str], None] = lambda _: None,
    on_answer: Callable[[Answer], None] | None = None,
) -> RushReport:
    report = RushReport(scenario=asdict(scenario))
    clients = min(scenario.concurrency, MAX_DB_CLIENTS)
    settings = settings.model_copy(update={"db_pool_size": clients, "db_max_overflow": 0})
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
        answers, waits, wall = await run_students(
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
        if scenario.measure_database:
            say(f"measuring the database's own limit ({clients} clients)")
            term = await prepare(services, scenario)  # empty seats again
            report.database_limit = await measure_database(services, term, attempts, clients)
            limit = report.database_limit["statements_per_second"]
            report.service_to_database_ratio = round(load.attempts_per_second / limit, 3)
            await prepare(services, scenario)  # leave the term as a fresh rush
    finally:
        await services.close()
    return report
