"""/metrics on its own port (SUGANG_METRICS_PORT): a real `sugang serve` with two worker
processes listening on two loopback ports. The metrics port answers /metrics and nothing
else; the main port answers everything but /metrics. Both ports belong to both workers."""

import os
from pathlib import Path

import httpx
import pytest

from sugang.http.metrics_port import MetricsPort
from tests.support.server import STOPPED, free_port, start_server, stop, sugang

pytestmark = pytest.mark.slow  # a real sugang serve


@pytest.fixture
def migrated_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sugang.db'}"
    sugang("db", "upgrade", database_url=url)
    return url


def listening_ports(pid: int) -> set[int]:
    """The TCP ports a process holds a listening socket of (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # the field after the state
                found.append(int(entry))
    return found


def test_metrics_answer_only_on_their_port_served_by_every_worker(
    migrated_db: str, tmp_path: Path
) -> None:
    metrics_port = free_port()
    process, base = start_server(
        migrated_db, tmp_path / "server.log", 2, env={"SUGANG_METRICS_PORT": str(metrics_port)}
    )
    metrics = f"http://127.0.0.1:{metrics_port}"
    main_port = int(base.rsplit(":", 1)[1])
    try:
        workers = [p for p in children(process.pid) if listening_ports(p)]
        held = [listening_ports(p) for p in workers]
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each time
        with httpx.Client(limits=limits, timeout=10) as http:
            scrapes = [http.get(f"{metrics}/metrics") for _ in range(10)]
            on_main = http.get(f"{base}/metrics")
            api_on_main = http.get(f"{base}/api/v1/time")
            elsewhere = [
                http.get(f"{metrics}/api/v1/time"),
                http.get(f"{metrics}/healthz"),
                http.get(f"{metrics}/"),
                http.get(f"{metrics}/docs"),
                http.post(f"{metrics}/api/v1/auth/token", data={"username": "x", "password": "y"}),
                http.get(f"{metrics}/metrics/"),
            ]
            # the scrapes counted like any request, in the workers' shared samples
            counted = http.get(f"{metrics}/metrics").text
    finally:
        assert stop(process) in STOPPED
    assert len(workers) == 2
    assert all({main_port, metrics_port} <= ports for ports in held), held
    assert {s.status_code for s in scrapes} == {200}
    assert all("sugang_http_requests_total" in s.text for s in scrapes)
    assert on_main.status_code == 404 and on_main.json()["code"] == "NOT_FOUND"
    assert "sugang_" not in on_main.text
    assert api_on_main.status_code == 200
    assert [r.status_code for r in elsewhere] == [404] * len(elsewhere)
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in elsewhere)
    assert 'route="/metrics",status="200"' in counted


async def test_without_a_metrics_port_metrics_stay_on_the_main_port() -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    transport = httpx.ASGITransport(app=MetricsPort(app, None))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t:8000") as c:
        assert (await c.get("/metrics")).status_code == 200
        assert (await c.get("/api/v1/time")).status_code == 200
