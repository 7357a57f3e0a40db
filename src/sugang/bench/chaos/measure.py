"""What a chaos run is judged by: the answers by outcome, the longest time without a
successful enrollment, how long the rate took to come back, the errors a client could not
act on, and the audit of the database against every answer."""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sugang.bench.audit import AuditReport
from sugang.bench.chaos.rush import NO_ANSWER, RushRun, Sample
from sugang.bench.chaos.scenarios import Fault

# Seconds before the fault whose enrollment rate is "the rate before"; the rate is "back"
# when a window this long after the fault averages RECOVERED of it.
BEFORE_SECONDS, WINDOW_SECONDS, RECOVERED = 5, 3, 0.8
# How far past the fault's end the longest gap without an enrollment is looked for.
AFTER_SECONDS = 20


@dataclass
class Figures:
    scenario: str
    seconds: float
    fault: dict[str, Any]
    answers: dict[str, int]
    enrollments: int
    errors_without_retry_after: int  # 5xx other than 503 + Retry-After, and no answer at all
    longest_without_enrollment_seconds: float | None
    back_to_rate_seconds: float | None  # after the fault ended
    queue_unavailable_seconds: float  # first to last 503 of the queue endpoints
    # Attempts with a pass answered while the fault lasted, and how many of them were 5xx
    # (or no answer): a student already admitted should not notice a Redis failover.
    enroll_answers_during_fault: int
    enroll_errors_during_fault: int
    audit: dict[str, Any]
    unacknowledged_after_broken_requests: int  # rows whose requests got no clear answer
    students_who_gave_up: int
    series: dict[str, list[float]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


def figures(scenario: str, run: RushRun, fault: Fault, audit: AuditReport) -> Figures:
    samples = run.samples
    enrolled = sorted(s.at for s in samples if s.what == "enroll" and s.status == 201)
    unclear = _unclear(samples)
    during = [s for s in samples if s.what == "enroll" and _within(s.at, fault)]
    unacknowledged = set(audit.unacknowledged_rows)
    excused = {row for row in unacknowledged if row in unclear}
    audit_summary = audit.summary() | {
        "unacknowledged_rows": len(unacknowledged - excused),
    }
    found = Figures(
        scenario=scenario,
        seconds=round(run.seconds, 2),
        fault={
            "started": _round(fault.started),
            "ended": _round(fault.ended),
            "notes": fault.notes,
            "readiness_probes": fault.readiness_probes,
            "readiness_failures": fault.readiness_failures,
            "taken_out": fault.taken_out,
        },
        answers=dict(sorted(Counter(_outcome(s) for s in samples).items())),
        enrollments=len(enrolled),
        errors_without_retry_after=sum(
            1 for s in samples if s.status >= 500 and not (s.status == 503 and s.retry_after)
        ),
        longest_without_enrollment_seconds=_longest_gap(enrolled, fault, run.seconds),
        back_to_rate_seconds=_back_to_rate(enrolled, fault, run.seconds),
        queue_unavailable_seconds=_span(
            s.at for s in samples if s.what in ("ticket", "poll") and s.status == 503
        ),
        enroll_answers_during_fault=len(during),
        enroll_errors_during_fault=sum(1 for s in during if s.status >= 500),
        audit=audit_summary,
        unacknowledged_after_broken_requests=len(excused),
        students_who_gave_up=run.gave_up,
        series=_series(samples, run.seconds),
    )
    found.checks = _checks(scenario, found)
    return found


# The targets of issue 13, per scenario (all of them: nothing lost, oversold or doubled).
def _checks(scenario: str, found: Figures) -> dict[str, bool]:
    audit = found.audit
    checks = {
        "no acknowledged enrollment lost": audit["lost_acknowledgements"] == 0,
        "nothing oversold, doubled or miscounted": audit["oversold_seats"] == 0
        and audit["duplicate_enrollments"] == 0
        and audit["counter_mismatches"] == 0,
        "no unacknowledged row but after a broken request": audit["unacknowledged_rows"] == 0,
        "no 5xx without Retry-After": found.errors_without_retry_after == 0,
    }
    gap = found.longest_without_enrollment_seconds
    if scenario in ("replica-kill", "rolling-restart"):
        checks["no enrollment for at most 2 s"] = gap is not None and gap <= 2
    if scenario == "node-cut":
        checks["the other nodes go on within 5 s"] = gap is not None and gap <= 5
    if scenario == "redis-failover":
        checks["the queue answers 503 for at most 10 s"] = found.queue_unavailable_seconds <= 10
        checks["admitted students go on enrolling (no 5xx during the fault)"] = (
            found.enroll_answers_during_fault > 0 and found.enroll_errors_during_fault == 0
        )
    if scenario == "pg-failover":
        checks["no enrollment for at most 20 s"] = gap is not None and gap <= 20
        back = found.back_to_rate_seconds
        checks["the rate back within 10 s more"] = back is not None and back <= 10
    if scenario == "pool-storm":
        checks["readiness never flaps"] = (
            found.fault["readiness_probes"] > 0
            and found.fault["readiness_failures"] == 0
            and found.fault["taken_out"] == 0
        )
    return checks


def _outcome(sample: Sample) -> str:
    status = "no answer" if sample.status == NO_ANSWER else str(sample.status)
    return f"{sample.what} {status} {sample.code or ''}".strip()


def _unclear(samples: Iterable[Sample]) -> set[tuple[str, int]]:
    """(student, section) of the attempts that got a 5xx or no answer: a request that may have
    been applied without its client hearing so (the connection broke)."""
    return {
        (s.student, s.section)
        for s in samples
        if s.what == "enroll" and s.status >= 500 and s.student and s.section
    }


def _within(moment: float, fault: Fault) -> bool:
    if fault.started is None:
        return False
    return fault.started <= moment <= (fault.ended or fault.started)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _span(moments: Iterable[float]) -> float:
    ordered = sorted(moments)
    return round(ordered[-1] - ordered[0], 2) if ordered else 0.0


def _longest_gap(enrolled: list[float], fault: Fault, end: float) -> float | None:
    """The longest stretch without a successful enrollment, from just before the fault to
    AFTER_SECONDS past its end (or the end of the rush)."""
    if fault.started is None:
        return None
    start = max(0.0, fault.started - 1)
    stop = min(end, (fault.ended or fault.started) + AFTER_SECONDS)
    moments = [start, *(t for t in enrolled if start <= t <= stop), stop]
    return round(max(b - a for a, b in zip(moments, moments[1:], strict=False)), 2)


def _back_to_rate(enrolled: list[float], fault: Fault, end: float) -> float | None:
    """Seconds after the fault's end until a WINDOW_SECONDS window averages RECOVERED of the
    rate before the fault; 0 if it never fell below; None if it never came back."""
    if fault.started is None or fault.started < BEFORE_SECONDS:
        return None
    before = sum(1 for t in enrolled if fault.started - BEFORE_SECONDS <= t < fault.started)
    rate = before / BEFORE_SECONDS
    if rate == 0:
        return None
    ended = fault.ended or fault.started
    step = 0.5
    t = fault.started
    while t + WINDOW_SECONDS <= end:
        during = sum(1 for e in enrolled if t <= e < t + WINDOW_SECONDS) / WINDOW_SECONDS
        if during >= RECOVERED * rate and t >= ended:
            return round(max(0.0, t - ended), 2)
        t += step
    return None


def _series(samples: list[Sample], seconds: float) -> dict[str, list[float]]:
    """Per second of the rush: answers by kind of outcome, and the p99 latency (ms)."""
    length = max(1, math.ceil(seconds))
    kinds = ("enrolled", "refused", "queue", "503", "other 5xx")
    counts = {kind: [0.0] * length for kind in kinds}
    latencies: dict[int, list[float]] = defaultdict(list)
    for s in samples:
        second = min(length - 1, int(s.at))
        if s.status == 503:
            kind = "503"
        elif s.status >= 500:
            kind = "other 5xx"
        elif s.what != "enroll":
            kind = "queue"  # tickets and polls answered
        elif s.status == 201:
            kind = "enrolled"
        else:
            kind = "refused"
        counts[kind][second] += 1
        latencies[second].append(s.seconds)
    p99 = []
    for second in range(length):
        ordered = sorted(latencies.get(second, []))
        p99.append(
            round(ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] * 1000, 1) if ordered else 0
        )
    return {**counts, "p99_ms": p99}
