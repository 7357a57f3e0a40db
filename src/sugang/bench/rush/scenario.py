"""What a rush benchmark runs (the scenario), what it reports, and the term it runs on."""

import random
from dataclasses import dataclass, field
from typing import Any

from sugang.runtime import Services
from sugang.seed.synthetic import SyntheticSpec, SyntheticTerm, seed_synthetic


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
    # "aiohttp": every student's journey (ticket, polls, attempts), timed per request;
    # "wrk": the attempts alone, sent by wrk after the students were admitted (untimed).
    driver: str = "aiohttp"


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
    cpu: dict[str, Any] = field(default_factory=dict)  # during the rush, from /proc
    # The rush second by second (timeline.py's rows), for `--plot`.
    timeline: list[dict[str, Any]] = field(default_factory=list)

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
