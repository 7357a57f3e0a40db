"""The students' side of a chaos run: each one takes a ticket, waits until admitted (polling
as the server asks), then makes their attempts with the pass, as a person at a browser would:
after a 503 with Retry-After (or no answer at all) they wait and click again. Every answer is
kept, with when it came."""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sugang.bench.load import Credential, login_all
from sugang.bench.rush.journey import configure_room
from sugang.bench.rush.scenario import RushScenario, plan
from sugang.clock import utc_now
from sugang.config import Settings
from sugang.db import Database
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm, seed_synthetic

NO_ANSWER = 599  # the request got no HTTP answer (refused, reset, timed out)
CLICKS = 8  # how many times a student tries one thing before giving up on it


@dataclass(frozen=True)
class ChaosRush:
    students: int = 5000
    sections: int = 200
    hot: int = 10
    # Seats enough that enrollments go on to the rush's end (the hot sections fill early, the
    # rest never do), so a quiet stretch is the fault's doing, not the seats running out.
    capacity: int = 100
    attempts_per_student: int = 4
    concurrency: int = 300  # students in flight at once
    # Students let in per second: sets the rush's length (5,000 at 80: about a minute, longer
    # than the slowest fault, a rolling restart of three replicas)
    admission_rate: float = 80.0
    seed: int = 1
    # Students still waiting this long after the rush began give up (a bounded run, even when
    # the service never comes back).
    give_up_after_seconds: float = 300.0
    # A share of the students take their time: they pause this long (±50 %) before each click
    # after their first, so some passes are always in use, during a fault too.
    slow_share: float = 0.1
    slow_pause_seconds: float = 1.5


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the rush began, when the answer came
    what: str  # "enroll", "ticket" or "poll"
    status: int
    code: str | None
    seconds: float
    retry_after: bool = False
    student: str | None = None
    section: int | None = None


@dataclass
class RushRun:
    term: SyntheticTerm
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0
    gave_up: int = 0  # students who never got through the queue


async def prepare(
    url: str, settings: Settings, rush: ChaosRush
) -> tuple[SyntheticTerm, dict[str, str]]:
    """Seed the term, put it in rush mode, log everyone in (none of it timed)."""
    spec = SyntheticSpec(
        students=rush.students,
        courses=rush.sections,
        hot=rush.hot,
        seed=rush.seed,
        capacity=rush.capacity,
    )
    database = Database(settings)
    try:
        async with database.transaction() as conn:
            term = await seed_synthetic(conn, spec, utc_now)
    finally:
        await database.dispose()
    room = RushScenario(url=url, seed=rush.seed, admission_rate=rush.admission_rate)
    await configure_room(url, term, room)
    credentials = [Credential(n, term.password) for n in term.student_numbers]
    tokens, _ = await login_all(url, credentials, min(rush.concurrency, 200))
    return term, tokens


async def run_rush(
    url: str,
    term: SyntheticTerm,
    tokens: dict[str, str],
    rush: ChaosRush,
    fault: Callable[[Callable[[], float]], Coroutine[Any, Any, None]],
    on_sample: Callable[[Sample], None] | None = None,
) -> RushRun:
    """Every student's journey, `rush.concurrency` at a time, while `fault` (given the rush's
    clock) does its harm."""
    run = RushRun(term)
    scenario = RushScenario(
        url=url,
        seed=rush.seed,
        attempts_per_student=rush.attempts_per_student,
        students=rush.students,
    )
    attempts = plan(term, scenario)
    chooser = random.Random(rush.seed)
    slow = {number for number in attempts if chooser.random() < rush.slow_share}
    pending = list(reversed(list(attempts)))
    started = time.perf_counter()

    def clock() -> float:
        return time.perf_counter() - started

    def keep(sample: Sample) -> None:
        run.samples.append(sample)
        if on_sample is not None:
            on_sample(sample)

    # A connection per request: after an error HAProxy closes the client's connection, and a
    # request sent later on that stale connection would fail without ever reaching it (a
    # browser quietly sends it again; aiohttp does not). Loopback connections are cheap.
    connector = aiohttp.TCPConnector(limit=rush.concurrency, force_close=True)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:

        async def call(
            what: str,
            method: str,
            path: str,
            headers: dict[str, str],
            *,
            section: int | None = None,
            student: str | None = None,
        ) -> tuple[int, dict[str, Any], float | None]:
            sent = time.perf_counter()
            retry: float | None = None
            body_out = None if section is None else {"section_id": section}
            try:
                async with http.request(method, path, headers=headers, json=body_out) as answer:
                    body = await answer.json(content_type=None) or {}
                    status = answer.status
                    if "Retry-After" in answer.headers:
                        retry = float(answer.headers["Retry-After"])
            except (aiohttp.ClientError, TimeoutError) as error:
                status, body = NO_ANSWER, {"code": f"CLIENT_{type(error).__name__}"}
            code = None if status < 300 else body.get("code")
            keep(
                Sample(
                    clock(),
                    what,
                    status,
                    code,
                    time.perf_counter() - sent,
                    retry is not None,
                    student,
                    section,
                )
            )
            return status, body, retry

        async def again(status: int, retry: float | None) -> bool:
            """After a 429, a 503 or no answer: wait as told (or a second) and try again."""
            if status in (429, 503, NO_ANSWER) or status >= 500:
                await asyncio.sleep(min(retry or 1.0, 5.0) * random.uniform(0.8, 1.2))
                return True
            return False

        def too_late() -> bool:
            return clock() > rush.give_up_after_seconds

        async def admitted(number: str) -> str | None:
            headers = {"Authorization": f"Bearer {tokens[number]}"}
            ticket: dict[str, Any] = {}
            while not too_late():
                if not ticket:
                    status, body, retry = await call(
                        "ticket", "POST", "/api/v1/queue/tickets", headers
                    )
                    if status == 201:
                        ticket = body
                    elif not await again(status, retry):
                        return None
                    continue
                if ticket.get("admitted"):
                    return str(ticket["access_token"])
                await asyncio.sleep(ticket.get("poll_after_seconds") or 1.0)
                path = f"/api/v1/queue/tickets/{ticket['ticket']}"
                status, body, retry = await call("poll", "GET", path, headers)
                if status == 200:
                    ticket = {**ticket, **body}
                elif status == 404:
                    ticket = {}  # void: take a new one
                elif not await again(status, retry):
                    return None
            return None

        async def journey(number: str) -> None:
            admission = await admitted(number)
            if admission is None:
                run.gave_up += 1
                return
            headers = {"Authorization": f"Bearer {tokens[number]}", "X-Admission-Token": admission}
            for index, section in enumerate(attempts[number]):
                if number in slow and index > 0:
                    await asyncio.sleep(rush.slow_pause_seconds * random.uniform(0.5, 1.5))
                for _ in range(CLICKS):
                    if too_late():
                        return
                    status, _, retry = await call(
                        "enroll",
                        "POST",
                        "/api/v1/enrollments",
                        headers,
                        section=section,
                        student=number,
                    )
                    if not await again(status, retry):
                        break

        async def student_after_student() -> None:
            while pending:
                number = pending.pop()
                if too_late():
                    run.gave_up += 1
                    continue
                await journey(number)

        harm = asyncio.create_task(fault(clock))
        try:
            await asyncio.gather(
                *(student_after_student() for _ in range(min(rush.concurrency, len(pending))))
            )
        except BaseException:
            harm.cancel()
            with contextlib.suppress(BaseException):
                await harm
            raise
        run.seconds = clock()
        await harm
    return run
