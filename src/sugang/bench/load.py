"""An asynchronous HTTP load generator (aiohttp) that logs students in and fires attempts.

Every response is kept (who, which section, status, code, latency) so the audit can check
that each acknowledged enrollment is in the database and each row was acknowledged.
"""

import asyncio
import csv
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

LOGIN_TRIES = 30
# Logins in flight at most: a worker hashes 32 at a time and answers LOGIN_BUSY past that.
LOGIN_CONCURRENCY = 32


@dataclass(frozen=True)
class Credential:
    student_number: str
    password: str


@dataclass(frozen=True)
class Attempt:
    student_number: str
    section_id: int


@dataclass(frozen=True)
class Answer:
    attempt: Attempt
    status: int
    code: str | None
    seconds: float
    sent_at: float = 0.0  # time.perf_counter() when sent: places the answer in the rush


@dataclass
class LoadResult:
    answers: list[Answer] = field(default_factory=list)
    wall_seconds: float = 0.0
    login_seconds: float = 0.0
    logins: int = 0

    @property
    def attempts_per_second(self) -> float:
        return len(self.answers) / self.wall_seconds if self.wall_seconds else 0.0

    def outcomes(self) -> Counter[str]:
        return Counter(a.code or str(a.status) for a in self.answers)

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(a.seconds for a in self.answers)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(quantile * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "attempts": len(self.answers),
            "wall_seconds": round(self.wall_seconds, 3),
            "attempts_per_second": round(self.attempts_per_second, 1),
            "latency_ms": {
                q: round(self.latency_ms(v), 2)
                for q, v in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
            },
            "outcomes": dict(sorted(self.outcomes().items())),
            "server_errors": sum(1 for a in self.answers if a.status >= 500),
            "logins": self.logins,
            "logins_per_second": round(self.logins / self.login_seconds, 1)
            if self.login_seconds
            else None,
        }


def read_credentials(path: Path) -> list[Credential]:
    with path.open(newline="") as source:
        return [Credential(r["student_number"], r["password"]) for r in csv.DictReader(source)]


def plan_attempts(
    students: Sequence[str], sections: Sequence[int], per_student: int, seed: int
) -> list[Attempt]:
    """Each student picks `per_student` sections at random (repeats allowed: a student who
    double-clicks is part of the rush); the whole list is shuffled."""
    chooser = random.Random(seed)
    attempts = [
        Attempt(student, chooser.choice(sections))
        for student in students
        for _ in range(per_student)
    ]
    chooser.shuffle(attempts)
    return attempts


async def post_attempt(
    http: aiohttp.ClientSession, attempt: Attempt, headers: dict[str, str]
) -> Answer:
    """One POST /enrollments, timed; a transport failure is answer 599 with its kind."""
    sent = time.perf_counter()
    try:
        async with http.post(
            "/api/v1/enrollments", json={"section_id": attempt.section_id}, headers=headers
        ) as response:
            body = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        body, status = {"code": f"CLIENT_{type(error).__name__}"}, 599
    code = None if status in (201, 202) else (body or {}).get("code")
    return Answer(attempt, status, code, time.perf_counter() - sent, sent)


def _connector(concurrency: int) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, force_close=False)


async def login_all(
    base_url: str, credentials: Sequence[Credential], concurrency: int
) -> tuple[dict[str, str], float]:
    tokens: dict[str, str] = {}
    started = time.perf_counter()
    async with aiohttp.ClientSession(base_url, connector=_connector(concurrency)) as http:
        queue = list(credentials)

        async def worker() -> None:
            while queue:
                credential = queue.pop()
                form = {"username": credential.student_number, "password": credential.password}
                for _ in range(LOGIN_TRIES):  # a busy service asks to come back (429, 503)
                    async with http.post("/api/v1/auth/token", data=form) as response:
                        body = await response.json(content_type=None)
                        if response.status not in (429, 503):
                            break
                        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                if response.status != 200:
                    raise RuntimeError(f"login of {credential.student_number} failed: {body}")
                tokens[credential.student_number] = body["access_token"]

        in_flight = min(concurrency, LOGIN_CONCURRENCY, len(queue)) or 1
        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return tokens, time.perf_counter() - started


async def current_section_ids(base_url: str, token: str) -> list[int]:
    ids: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url, headers=headers) as http:
        page = 1
        while True:
            async with http.get("/api/v1/sections", params={"page": page, "page_size": 200}) as r:
                body = await r.json()
            ids.extend(item["id"] for item in body["items"])
            if len(ids) >= body["total"] or not body["items"]:
                return ids
            page += 1


async def fire(
    base_url: str,
    tokens: dict[str, str],
    attempts: Sequence[Attempt],
    concurrency: int,
    on_answer: Callable[[Answer], None] | None = None,
) -> tuple[list[Answer], float]:
    """Send every attempt with at most `concurrency` in flight; returns answers and wall time."""
    answers: list[Answer] = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        base_url, connector=_connector(concurrency), timeout=timeout
    ) as http:
        pending = list(reversed(attempts))

        async def worker() -> None:
            while pending:
                attempt = pending.pop()
                headers = {"Authorization": f"Bearer {tokens[attempt.student_number]}"}
                answer = await post_attempt(http, attempt, headers)
                answers.append(answer)
                if on_answer:
                    on_answer(answer)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(attempts)) or 1)))
        return answers, time.perf_counter() - started
