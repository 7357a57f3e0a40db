"""Prometheus metrics: summed over real worker processes, and never imported on the CLI's
import path (the serving process must choose multiprocess mode first)."""

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.server import STOPPED, SUGANG, start_server, stop

pytestmark = pytest.mark.slow  # real sugang serve processes


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_metrics_add_up_across_two_workers(demo_db: str, tmp_path: Path) -> None:
    samples = tmp_path / "metrics"
    process, base = start_server(
        demo_db, tmp_path / "server.log", 2, env={"PROMETHEUS_MULTIPROC_DIR": str(samples)}
    )

    def workers_seen() -> int:
        return len({p.name.rsplit("_", 1)[1] for p in samples.glob("counter_*.db")})

    async def load_until_both_served() -> int:
        sent = 0
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
        async with httpx.AsyncClient(base_url=base, limits=limits) as http:
            for _ in range(50):  # bounded: at most 2,000 requests
                answers = await asyncio.gather(*(http.get("/healthz") for _ in range(40)))
                assert {a.status_code for a in answers} == {200}
                sent += len(answers)
                if workers_seen() == 2:
                    return sent
        return sent

    try:
        sent = asyncio.run(load_until_both_served())
        with httpx.Client(base_url=base) as http:
            scraped = [http.get("/metrics").text for _ in range(6)]
    finally:
        assert stop(process) in STOPPED
    assert workers_seen() == 2
    healthz = 'sugang_http_requests_total{method="GET",route="/healthz",status="200"}'
    # Whichever worker answered the scrape, it reports the sum over both.
    assert {metric(text, healthz) for text in scraped} == {float(sent)}
    # Values read at scrape time appear once, never again from a worker's files.
    seats = [line for line in scraped[-1].splitlines() if line.startswith("sugang_section_seats")]
    assert seats and not any("pid=" in line for line in seats)
    assert len(seats) == len({line.split("}")[0] for line in seats})


def test_importing_the_cli_leaves_prometheus_unimported() -> None:
    probe = "import sys, sugang.cli; print('prometheus_client' in sys.modules)"
    result = subprocess.run(
        [SUGANG.replace("sugang", "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"
