"""The figures a chaos run is judged by, computed from answers made up here (the run itself is
tests/bench/test_chaos.py)."""

from sugang.bench.audit import AuditReport
from sugang.bench.chaos.measure import figures
from sugang.bench.chaos.rush import NO_ANSWER, RushRun, Sample
from sugang.bench.chaos.scenarios import Fault
from sugang.seed.synthetic import SyntheticTerm


def _run(samples: list[Sample], seconds: float = 20.0) -> RushRun:
    term = SyntheticTerm(
        term_id=1, term_code="T", student_ids=[], section_ids=[1], hot_section_ids=[], password=""
    )
    return RushRun(term, samples=samples, seconds=seconds)


def _enrolled(at: float, student: str = "s", section: int = 1) -> Sample:
    return Sample(at, "enroll", 201, None, 0.01, False, student, section)


def test_the_longest_gap_and_the_rate_back_are_read_from_the_enrollments() -> None:
    steady = [_enrolled(t / 10) for t in range(0, 100)]  # 10 a second until 10 s
    after = [_enrolled(13 + t / 10) for t in range(0, 70)]  # and again from 13 s
    fault = Fault(started=10.0, ended=11.0)
    found = figures("replica-kill", _run(steady + after), fault, AuditReport())
    assert found.longest_without_enrollment_seconds == 3.1  # 9.9 s to 13 s
    # 12.5-15.5 s holds 25 enrollments, 8.3 a second: 80 % of the 10 before, 1.5 s after the end
    assert found.back_to_rate_seconds == 1.5
    assert found.checks["no enrollment for at most 2 s"] is False


def test_a_5xx_without_retry_after_and_a_lost_acknowledgement_fail_the_run() -> None:
    samples = [
        _enrolled(1.0),
        Sample(2.0, "enroll", 503, "UNAVAILABLE", 0.01, True, "a", 1),  # may retry: fine
        Sample(3.0, "enroll", 500, None, 0.01, False, "b", 1),
        Sample(4.0, "ticket", NO_ANSWER, "CLIENT_ServerDisconnectedError", 0.01),
    ]
    audit = AuditReport(lost_acknowledgements=[("s", 1)], unacknowledged_rows=[("b", 1)])
    found = figures("pg-restart", _run(samples), Fault(started=2.0, ended=3.0), audit)
    assert found.errors_without_retry_after == 2
    assert found.unacknowledged_after_broken_requests == 1  # b's request broke: excused
    assert found.audit["unacknowledged_rows"] == 0
    assert found.checks["no acknowledged enrollment lost"] is False
    assert found.checks["no 5xx without Retry-After"] is False
    assert found.ok is False


def test_a_redis_failover_is_judged_by_the_attempts_made_with_passes_during_it() -> None:
    fault = Fault(started=5.0, ended=11.0)
    queue_down = [Sample(6.0, "ticket", 503, "QUEUE_UNAVAILABLE", 0.01, True)]
    kept_on = [_enrolled(t) for t in (4.0, 6.0, 9.0, 12.0)]
    found = figures("redis-failover", _run(queue_down + kept_on), fault, AuditReport())
    assert found.enroll_answers_during_fault == 2
    assert found.ok, found.checks

    refused = [Sample(7.0, "enroll", 503, "UNAVAILABLE", 0.01, True, "x", 1)]
    found = figures("redis-failover", _run(queue_down + kept_on + refused), fault, AuditReport())
    assert found.enroll_errors_during_fault == 1
    assert found.checks["admitted students go on enrolling (no 5xx during the fault)"] is False

    nobody = [_enrolled(4.0), _enrolled(12.0)]
    found = figures("redis-failover", _run(queue_down + nobody), fault, AuditReport())
    assert found.checks["admitted students go on enrolling (no 5xx during the fault)"] is False
