"""The fast-path probe: claims/s of a burst that fills sections, then refusals/s of a burst at
those now-full sections, through the server at the rush's concurrency."""

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sugang.bench.audit import audit_term
from sugang.bench.cpu import CpuMeter
from sugang.bench.load import Attempt, LoadResult
from sugang.bench.rush.journey import burst
from sugang.bench.rush.scenario import RushScenario, prepare
from sugang.bench.rush.wrk import PlannedAttempt, measure_with_wrk
from sugang.enrollment.fullness import TTL_SECONDS as FULL_FLAG_TTL_SECONDS
from sugang.runtime import Services
from sugang.seed.synthetic import SyntheticTerm


def seat_filling_plan(term: SyntheticTerm, students: list[str], capacity: int) -> list[Attempt]:
    """One attempt per student, hot sections first (they lead `section_ids`), never more
    attempts at a section than its seats: on a fresh term every one of them claims a seat."""
    slots = [section for section in term.section_ids for _ in range(capacity)]
    return [Attempt(n, section) for n, section in zip(students, slots, strict=False)]


@dataclass
class Burst:
    outcomes: Counter[str]
    seconds: float
    latency_ms: dict[str, float]
    acknowledged: dict[str, Any]  # for audit_term: who was told 201 (pairs or ids)
    cpu: dict[str, Any]

    def count(self, *keys: str) -> int:
        return sum(self.outcomes[k] for k in keys)


async def fire_burst(
    driver: str,
    url: str,
    headers: dict[str, dict[str, str]],
    attempts: list[Attempt],
    concurrency: int,
) -> Burst:
    """`attempts` sent at once by the scenario's driver, with the CPU they cost."""
    if driver == "wrk":
        planned = [
            PlannedAttempt(
                a.section_id,
                headers[a.student_number]["Authorization"].removeprefix("Bearer "),
                headers[a.student_number].get("X-Admission-Token"),
            )
            for a in attempts
        ]
        sent, cpu = await measure_with_wrk(url, planned, concurrency)
        outcomes: Counter[str] = Counter()
        for key, n in sent.outcomes.items():
            status, _, code = key.partition(" ")
            outcomes[code or status] += n
            outcomes["5xx"] += n if status[:1] == "5" else 0
        return Burst(
            outcomes, sent.seconds, sent.latency_ms, {"acknowledged_ids": sent.enrollment_ids}, cpu
        )
    meter = CpuMeter(url)
    answers, seconds = await burst(url, headers, attempts, concurrency)
    cpu = meter.stop(len(answers))
    told = [(a.attempt.student_number, a.attempt.section_id) for a in answers if a.status == 201]
    outcomes = Counter(a.code or str(a.status) for a in answers)
    outcomes.update({"5xx": sum(a.status >= 500 for a in answers)})
    return Burst(
        outcomes,
        seconds,
        LoadResult(answers, seconds).summary()["latency_ms"],
        {"acknowledged": told},
        cpu,
    )


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
    claims = await fire_burst(scenario.driver, url, headers, claims_plan, scenario.concurrency)
    filled = sorted({a.section_id for a in claims_plan})
    full = [s for s in filled if sum(a.section_id == s for a in claims_plan) >= scenario.capacity]
    rng = random.Random(scenario.seed)
    refusals_plan = [Attempt(n, rng.choice(full)) for n in numbers] if full else []
    refusals = await fire_burst(scenario.driver, url, headers, refusals_plan, scenario.concurrency)
    acknowledged = {  # both bursts': a refusal burst that found a seat told someone 201 too
        key: claims.acknowledged[key] + refusals.acknowledged.get(key, [])
        for key in claims.acknowledged
    }
    async with services.db.transaction(write=False) as conn:
        audit = (await audit_term(conn, term.term_id, **acknowledged)).summary()
    claims_per_second = claims.count("201") / claims.seconds
    refusals_per_second = (
        refusals.count("SECTION_FULL") / refusals.seconds if refusals_plan else 0.0
    )
    return {
        "claims": sum(claims.outcomes.values()) - claims.outcomes["5xx"],
        "claims_per_second": round(claims_per_second, 1),
        "claim_outcomes": dict(claims.outcomes),
        "claim_latency_ms": claims.latency_ms,
        "claim_cpu": claims.cpu,
        "refusals": sum(refusals.outcomes.values()) - refusals.outcomes["5xx"],
        "refusals_per_second": round(refusals_per_second, 1),
        "refusal_outcomes": dict(refusals.outcomes),
        "refusal_latency_ms": refusals.latency_ms,
        "refusal_cpu": refusals.cpu,
        "refusals_to_claims_ratio": round(refusals_per_second / claims_per_second, 2)
        if claims_per_second
        else None,
        "server_errors": claims.outcomes["5xx"] + refusals.outcomes["5xx"],
        "audit": audit,
    }
