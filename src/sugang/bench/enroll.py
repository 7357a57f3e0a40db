"""The enroll scenario: every student fires N attempts at the current term's sections."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from sugang.bench.audit import AuditReport, audit_term
from sugang.bench.load import (
    Answer,
    LoadResult,
    current_section_ids,
    fire,
    login_all,
    plan_attempts,
    read_credentials,
)
from sugang.db import Database


@dataclass(frozen=True)
class EnrollScenario:
    url: str
    credentials: Path
    attempts_per_student: int = 4
    concurrency: int = 200
    seed: int = 1


async def run_enroll_scenario(
    scenario: EnrollScenario, on_answer: Any = None, on_plan: Any = None
) -> tuple[LoadResult, int]:
    """Log everyone in (untimed), then fire; returns the result and the term id."""
    credentials = read_credentials(scenario.credentials)
    tokens, login_seconds = await login_all(scenario.url, credentials, scenario.concurrency)
    any_token = next(iter(tokens.values()))
    sections = await current_section_ids(scenario.url, any_token)
    async with aiohttp.ClientSession(scenario.url) as http, http.get("/api/v1/terms/current") as r:
        term_id = int((await r.json())["id"])
    attempts = plan_attempts(
        [c.student_number for c in credentials],
        sections,
        scenario.attempts_per_student,
        scenario.seed,
    )
    if on_plan:
        on_plan(len(attempts))
    answers, wall = await fire(scenario.url, tokens, attempts, scenario.concurrency, on_answer)
    return (
        LoadResult(
            answers=answers, wall_seconds=wall, login_seconds=login_seconds, logins=len(tokens)
        ),
        term_id,
    )


def acknowledged(answers: list[Answer]) -> list[tuple[str, int]]:
    return [(a.attempt.student_number, a.attempt.section_id) for a in answers if a.status == 201]


async def audit(db: Database, term_id: int, answers: list[Answer]) -> AuditReport:
    async with db.transaction(write=False) as conn:
        return await audit_term(conn, term_id, acknowledged(answers))
