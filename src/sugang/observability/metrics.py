"""Prometheus metrics, correct with several worker processes.

`sugang serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start;
each worker then writes its samples there and /metrics adds them up. Without the variable
(tests, an embedded single process) the default registry is used.

prometheus_client chooses between the two when it is first imported, so nothing on the import
path of `sugang.cli` may import this module: only the app (imported by the serving process)
does. tests/observability/test_processes.py guards that.
"""

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "sugang_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "sugang_http_request_duration_seconds",
    "Time from receiving a request to the end of its response.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "sugang_http_requests_in_flight",
    "Requests being handled now.",
    multiprocess_mode="livesum",
)
SHED_REQUESTS = Counter(
    "sugang_http_requests_shed_total",
    "Requests answered 503 at once because too many were in flight in the worker.",
)
ENROLLMENT_ATTEMPTS = Counter(
    "sugang_enrollment_attempts_total",
    "Enroll requests by outcome: enrolled, waitlisted, or the refusal code.",
    ["outcome"],
)
FAST_REFUSALS = Counter(
    "sugang_enrollment_fast_refusals_total",
    "SECTION_FULL answers given from the full-section flag, without the database.",
)
DB_POOL_IN_USE = Gauge(
    "sugang_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "sugang_db_pool_connections_max",
    "Most connections the pool may hold (size + overflow).",
    multiprocess_mode="livesum",
)


def count_pool_use(pool: Any, max_connections: int) -> None:
    """Keep the pool gauges current through SQLAlchemy's pool events."""
    DB_POOL_SIZE.inc(max_connections)
    event.listen(pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(extra: bytes = b"") -> tuple[bytes, str]:
    """The exposition text of every worker's samples (plus `extra` lines)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return body + extra, CONTENT_TYPE_LATEST


class _Snapshot(Collector):
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families)


def snapshot_text(families: list[GaugeMetricFamily]) -> bytes:
    """Exposition text for values read at scrape time. (A `Gauge` would also be written to
    the multiprocess files, and come back on later scrapes with a pid label and an old
    value.)"""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)


def worker_exited(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class EnrollmentMetrics:
    """The enrollment service's outcome counts, as Prometheus counters."""

    def attempt(self, outcome: str) -> None:
        ENROLLMENT_ATTEMPTS.labels(outcome).inc()

    def fast_refusal(self) -> None:
        FAST_REFUSALS.inc()
