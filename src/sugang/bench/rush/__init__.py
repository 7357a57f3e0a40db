"""`sugang bench rush`: the opening minute, reproduced against a running server.

1. Seed (or reset) a deterministic synthetic term through the database, and set its waiting
   room through the registrar API (so the server's own room, Redis or in-process, is used).
2. Log every student in (not timed).
3. The students' journeys (journey.py): ticket, wait, attempts with the pass.
4. Audit the database against every answer the clients saw.
5. The fast path (fast_path.py), on a freshly reset term at the same concurrency. Audited too.
6. The database's own limit for the same seat-claim statement (ceiling.py).
"""

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sugang.bench.audit import audit_term
from sugang.bench.cpu import CpuMeter
from sugang.bench.load import Answer, Credential, LoadResult, login_all
from sugang.bench.rush.ceiling import measure_database
from sugang.bench.rush.fast_path import measure_fast_path
from sugang.bench.rush.journey import configure_room, run_students
from sugang.bench.rush.scenario import RushReport, RushScenario, plan, prepare, quantiles
from sugang.bench.rush.timeline import Timeline, sample_admission_rate
from sugang.bench.rush.wrk import measure_with_wrk, order_attempts
from sugang.config import Settings
from sugang.runtime import Services

__all__ = ["RushReport", "RushScenario", "run_rush"]


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
        if scenario.driver == "wrk":
            say("admitting every student (not timed)")
            no_attempts: dict[str, list[int]] = {n: [] for n in tokens}
            journeys = await run_students(scenario.url, tokens, no_attempts, scenario)
            planned = order_attempts(attempts, journeys.admitted, scenario.seed)
            say(f"the rush: {len(planned)} attempts sent by wrk")
            async with sample_admission_rate(term, scenario) as admission:
                sent, report.cpu = await measure_with_wrk(
                    scenario.url, planned, scenario.concurrency
                )
            report.timeline = Timeline.from_counts(sent.per_second, admission).rows()
            report.load = {
                **sent.summary(),
                "logins": len(tokens),
                "logins_per_second": round(len(tokens) / login_seconds, 1),
            }
            attempts_per_second = sent.attempts_per_second
            acknowledged: dict[str, Any] = {"acknowledged_ids": sent.enrollment_ids}
        else:
            say("the rush")
            meter = CpuMeter(scenario.url)
            async with sample_admission_rate(term, scenario) as admission:
                journeys = await run_students(scenario.url, tokens, attempts, scenario, on_answer)
            report.cpu = meter.stop(len(journeys.answers))
            report.timeline = Timeline.from_answers(journeys.answers, admission).rows()
            load = LoadResult(journeys.answers, journeys.wall_seconds, login_seconds, len(tokens))
            report.load = load.summary()
            attempts_per_second = load.attempts_per_second
            acknowledged = {
                "acknowledged": [
                    (a.attempt.student_number, a.attempt.section_id)
                    for a in journeys.answers
                    if a.status == 201
                ]
            }
        report.queue_wait_seconds = quantiles(journeys.queue_waits)
        report.queue_errors = dict(journeys.queue_errors)
        say("auditing")
        async with services.db.transaction(write=False) as conn:
            report.audit = (await audit_term(conn, term.term_id, **acknowledged)).summary()
        if scenario.measure_fast_path:
            say("the fast path: a burst of claims, then one of refusals")
            report.fast_path = await measure_fast_path(
                services, scenario.url, journeys.admitted, scenario
            )
        if scenario.measure_database:
            say("measuring the database's own limit")
            term = await prepare(services, scenario)  # empty seats again
            report.database_limit = await measure_database(
                services, term, attempts, scenario.concurrency
            )
            limit = report.database_limit["statements_per_second"]
            report.service_to_database_ratio = round(attempts_per_second / limit, 3)
        await prepare(services, scenario)  # leave the term as a fresh rush
    finally:
        await services.close()
    return report
