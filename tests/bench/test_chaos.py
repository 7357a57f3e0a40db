"""`sugang bench chaos` at a small size in the suite: the real topology (three nodes, HAProxy,
PostgreSQL with a synchronous standby, Redis with Sentinel), a rush of 600 students, and two
faults: an API replica SIGKILLed, and the Redis primary SIGKILLed (Sentinel promotes the
replica). It fails on any acknowledged enrollment lost, any 5xx without Retry-After, or any
target missed. `make chaos` runs every scenario at full size."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.server import SUGANG

pytestmark = pytest.mark.slow


def test_a_small_rush_survives_a_replica_kill_and_a_redis_failover(tmp_path: Path) -> None:
    report_file = tmp_path / "chaos.json"
    result = subprocess.run([
        SUGANG, "bench", "chaos",
        "--scenario", "replica-kill",
        "--scenario", "redis-failover",
        "--students", "600",
        "--sections", "60",
        "--concurrency", "150",
        "--admission-rate", "40",
        "--fault-at", "5",
        "--workers", "1",
        "--json", str(report_file),
    ], capture_output=True, text=True, timeout=300, check=False)  # fmt: skip

    output = result.stdout[-4000:] + result.stderr[-4000:]
    assert report_file.exists(), output
    report = json.loads(report_file.read_text())["scenarios"]
    assert set(report) == {"replica-kill", "redis-failover"}
    for name, found in report.items():
        assert found["fault"]["started"] is not None and found["fault"]["ended"] is not None
        audit = found["audit"]
        assert audit["lost_acknowledgements"] == 0, (name, audit)
        assert audit["oversold_seats"] == audit["duplicate_enrollments"] == 0, (name, audit)
        assert found["errors_without_retry_after"] == 0, (name, found["answers"])
        # every row was a 201, but for the few whose request broke with the replica
        excused = found["unacknowledged_after_broken_requests"]
        assert found["enrollments"] > 0
        assert audit["enrollments"] == found["enrollments"] + excused, (name, audit)
        assert all(found["checks"].values()), (name, found["checks"])
    # the faults were real: the queue was without Redis for a moment
    assert report["redis-failover"]["fault"]["notes"]
    assert result.returncode == 0, output
