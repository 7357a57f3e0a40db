"""The health port: /readyz and /healthz answered by a thread from the readiness the worker
keeps, so a probe gets its answer while the worker's event loop is stuck; real `sugang serve`
workers share the port."""

import threading
import time
from pathlib import Path

import httpx
import pytest

from sugang.system.health_port import HealthPort
from sugang.system.readiness import Readiness
from tests.support.server import free_port, running_server


async def database_answers() -> None:
    return None


async def test_a_probe_is_answered_while_the_event_loop_is_stuck() -> None:
    readiness = Readiness(database_answers, 3)
    await readiness.verdict()
    health = HealthPort("127.0.0.1", 0, readiness.snapshot).start()
    answers: list[httpx.Response] = []
    asker = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"http://127.0.0.1:{health.port}/readyz", timeout=10)
        )
    )
    try:
        asker.start()
        # The loop stuck in Python code (as under a storm): it holds the GIL but for the
        # interpreter's switch interval, and never awaits.
        give_up = time.monotonic() + 10
        while not answers and time.monotonic() < give_up:
            pass
        answered_while_stuck = bool(answers)
        asker.join()
    finally:
        health.stop()
    assert answered_while_stuck
    assert answers[0].status_code == 200
    assert answers[0].json() == {"status": "ok", "database": "ok"}


async def test_draining_and_a_database_gone_are_not_ready() -> None:
    down = False

    async def probe() -> None:
        if down:
            raise ConnectionRefusedError

    readiness = Readiness(probe, 2, every_seconds=0)
    health = HealthPort("127.0.0.1", 0, readiness.snapshot).start()
    url = f"http://127.0.0.1:{health.port}"
    try:
        down = True
        await readiness.verdict()
        one_failure = httpx.get(f"{url}/readyz")
        await readiness.verdict()
        gone = httpx.get(f"{url}/readyz")
        readiness.draining = True
        draining = httpx.get(f"{url}/readyz")
        alive = httpx.get(f"{url}/healthz")
        unknown = httpx.get(f"{url}/metrics")
    finally:
        health.stop()
    assert one_failure.status_code == 200  # one failure is not enough
    assert gone.status_code == 503 and gone.headers["Retry-After"] == "2"
    assert gone.json()["database"] == "ConnectionRefusedError (2 in a row)"
    assert draining.status_code == 503 and draining.json()["database"] == "draining"
    assert alive.status_code == 200
    assert unknown.status_code == 404


async def test_a_checker_hanging_up_early_leaves_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    readiness = Readiness(database_answers, 3)
    health = HealthPort("127.0.0.1", 0, readiness.snapshot)
    try:
        for error in (ConnectionResetError(104, "reset by peer"), ValueError("a real bug")):
            try:
                raise error
            except Exception:
                health.server.handle_error(None, ("127.0.0.1", 1))
    finally:
        health.server.server_close()
    printed = capsys.readouterr().err
    assert "ConnectionResetError" not in printed  # HAProxy resets its check connections
    assert "ValueError: a real bug" in printed


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_workers_of_sugang_serve_share_the_health_port(
    pg_database: str, tmp_path: Path, backend: str
) -> None:
    port = free_port()
    with running_server(
        pg_database, workers=2, log=tmp_path / "server.log", env={"SUGANG_HEALTH_PORT": str(port)}
    ):
        answers = [httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5) for _ in range(20)]
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["database"] for a in answers} == {"ok"}
    log = (tmp_path / "server.log").read_text()
    assert "Address already in use" not in log and "Traceback" not in log, log[-3000:]
