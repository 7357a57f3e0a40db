"""With real `sugang serve` processes: metrics add up across workers, logs are JSON lines
with request ids, and SIGTERM lets in-flight requests finish."""

import asyncio
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import _truncate
from tests.server import SUGANG, env_for, free_port, sugang


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    sugang("db", "upgrade", database_url=url)
    sugang("seed", "--demo", database_url=url)
    return url


def start(
    url: str, tmp_path: Path, workers: int, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [SUGANG, "serve", "--port", str(port), "--workers", str(workers)],
            env={**env_for(url), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError((tmp_path / "server.log").read_text())


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


# Uvicorn shuts down gracefully on SIGTERM, then re-raises it so the exit status says why.
STOPPED = (0, -signal.SIGTERM)


def test_metrics_add_up_across_two_workers(demo_db: str, tmp_path: Path) -> None:
    samples = tmp_path / "metrics"
    process, base = start(demo_db, tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(samples))

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


def test_logs_are_json_lines_carrying_the_request_id(demo_db: str, tmp_path: Path) -> None:
    process, base = start(demo_db, tmp_path, workers=1)
    try:
        httpx.get(f"{base}/api/v1/terms/current", headers={"X-Request-ID": "find-me-42"})
    finally:
        assert stop(process) in STOPPED
    lines = [
        json.loads(line)
        for line in (tmp_path / "server.log").read_text().splitlines()
        if line.strip()
    ]
    mine = [line for line in lines if line.get("request_id") == "find-me-42"]
    assert mine and mine[0]["logger"] == "sugang.access" and mine[0]["status"] == 200
    assert mine[0]["route"] == "/api/v1/terms/current"


def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones(
    pg_database: str, tmp_path: Path
) -> None:
    asyncio.run(_truncate(pg_database))
    sugang(
        "seed",
        "--students",
        "1",
        "--courses",
        "1",
        "--hot",
        "0",
        "--seed",
        "9",
        "--credentials-out",
        str(tmp_path / "c.csv"),
        database_url=pg_database,
    )
    process, base = start(pg_database, tmp_path, workers=1)

    async def scenario() -> tuple[int, bool]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = (
                await http.post(
                    "/api/v1/auth/token",
                    data={"username": "s9-000000", "password": "synthetic-9-pw"},
                )
            ).json()["access_token"]
            section = (
                await http.get("/api/v1/sections", headers={"Authorization": f"Bearer {token}"})
            ).json()["items"][0]["id"]
            holder = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
            tx = holder.transaction()
            await tx.start()
            await holder.execute("SELECT 1 FROM students FOR UPDATE")  # the enroll will wait here
            in_flight = asyncio.create_task(
                http.post(
                    "/api/v1/enrollments",
                    json={"section_id": section},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            refused = _refuses(base)
            await tx.rollback()
            await holder.close()
            return (await in_flight).status_code, refused

    status, refused_new = asyncio.run(scenario())
    assert status == 201  # the request in flight at SIGTERM was finished
    assert refused_new  # while no new connection was accepted
    assert process.wait(timeout=30) in STOPPED


def test_importing_the_cli_leaves_prometheus_unimported() -> None:
    probe = "import sys, sugang.cli; print('prometheus_client' in sys.modules)"
    result = subprocess.run(
        [SUGANG.replace("sugang", "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def _refuses(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except OSError:
        return True
