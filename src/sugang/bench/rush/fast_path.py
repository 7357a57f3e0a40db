"""The fast-path probe: claims/s of a burst that fills sections, then refusals/s of a burst at
those now-full sections, through the server at the rush's concurrency."""

import asyncio
import random
from typing import Any

from sugang.bench.audit import audit_term
from sugang.bench.load import Attempt, LoadResult
from sugang.bench.rush.journey import burst
from sugang.bench.rush.scenario import RushScenario, prepare
from sugang.enrollment.fullness import TTL_SECONDS as FULL_FLAG_TTL_SECONDS
from sugang.runtime import Services
from sugang.seed.synthetic import SyntheticTerm


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
