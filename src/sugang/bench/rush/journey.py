"""The students' side of the rush: each takes a ticket, waits until admitted (polling as the
ETA suggests), then fires their attempts with the admission pass."""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sugang.bench.load import Answer, Attempt, post_attempt
from sugang.bench.rush.scenario import RushScenario
from sugang.clock import utc_now
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm


class QueueRefused(Exception):
    """The waiting room refused a simulated student for good (not 429/503)."""


@dataclass
class Journeys:
    answers: list[Answer]
    queue_waits: list[float]  # seconds from ticket to admission, per admitted student
    wall_seconds: float
    # Each admitted student's request headers (their pass included), for the probes after.
    admitted: dict[str, dict[str, str]]
    # Non-success answers of the waiting room, by status and code (retried ones included).
    queue_errors: Counter[str]


async def admin_token(http: aiohttp.ClientSession, term: SyntheticTerm, seed: int) -> str:
    """A bearer token of the synthetic term's registrar (who steers the waiting room)."""
    spec = SyntheticSpec(students=1, courses=1, hot=0, seed=seed)
    form = {"username": spec.admin_username, "password": term.admin_password}
    async with http.post("/api/v1/auth/token", data=form) as r:
        token: str = (await r.json())["access_token"]
    return token


async def configure_room(url: str, term: SyntheticTerm, scenario: RushScenario) -> None:
    async with aiohttp.ClientSession(url) as http:
        token = await admin_token(http, term, scenario.seed)
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
) -> Journeys:
    """Every student's journey, `scenario.concurrency` of them at a time."""
    answers: list[Answer] = []
    waits: list[float] = []
    admitted: dict[str, dict[str, str]] = {}
    queue_errors: Counter[str] = Counter()
    pending = list(reversed(list(attempts)))
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
        wall = time.perf_counter() - started
        return Journeys(answers, waits, wall, admitted, queue_errors)


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
