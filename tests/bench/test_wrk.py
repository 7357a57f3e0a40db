"""The wrk driver of `sugang bench rush` against a stand-in enroll endpoint (an aiohttp app in
this process that answers 201 or 409 and records what it was sent): real wrk, the real Lua
script, every planned attempt sent exactly once, and the answers counted as they came."""

import os
import shutil
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from sugang.bench.cpu import CpuMeter, server_pids
from sugang.bench.rush.wrk import PlannedAttempt, measure_with_wrk, order_attempts

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="Debian's wrk is needed")


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[str, list[tuple[str, int, str | None]]]]:
    """The enroll endpoint's stand-in: odd sections get a seat, even ones are full."""
    received: list[tuple[str, int, str | None]] = []

    async def enroll(request: web.Request) -> web.Response:
        section = (await request.json())["section_id"]
        received.append(
            (request.headers["Authorization"], section, request.headers.get("X-Admission-Token"))
        )
        if section % 2:
            return web.json_response(
                {"status": "enrolled", "enrollment_id": len(received)}, status=201
            )
        return web.json_response({"code": "SECTION_FULL", "message": "full"}, status=409)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/v1/enrollments", enroll)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


async def test_every_planned_attempt_is_sent_once_and_every_answer_counted(
    stand_in: tuple[str, list[tuple[str, int, str | None]]],
) -> None:
    url, received = stand_in
    planned = [
        PlannedAttempt(section, f"token-{student}", "pass-x" if student % 3 == 0 else None)
        for student in range(150)
        for section in (1, 2, 3)
    ]
    result, cpu = await measure_with_wrk(url, planned, connections=20)

    sent = Counter((f"Bearer {a.token}", a.section_id, a.admission) for a in planned)
    assert Counter(received) == sent  # each once: none lost, none doubled
    assert result.answers == result.planned == len(planned) == 450
    assert result.outcomes == {"201": 300, "409 SECTION_FULL": 150}
    assert sorted(result.enrollment_ids) == sorted(
        i + 1 for i, (_, section, _) in enumerate(received) if section % 2
    )
    assert sum(sum(second.values()) for second in result.per_second) == 450
    assert result.server_errors == 0 and result.seconds > 0
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p99"] <= result.latency_ms["max"]
    assert result.client_cpu_seconds > 0
    # The stand-in listens in this very process: the meter finds it as "the server".
    assert cpu["server_processes"] == 1 and cpu["seconds"]["server"] > 0


async def test_an_empty_plan_ends_at_once(
    stand_in: tuple[str, list[tuple[str, int, str | None]]],
) -> None:
    url, received = stand_in
    result, _ = await measure_with_wrk(url, [PlannedAttempt(1, "t")], connections=4)
    assert result.answers == 1 and len(received) == 1  # thread 1 had nothing to send


def test_the_meter_finds_the_processes_that_hold_a_listening_port() -> None:
    assert server_pids("http://10.9.8.7:8000") == []  # not this machine
    meter = CpuMeter("http://127.0.0.1:1")  # nothing listens there
    assert meter.stop(10)["seconds"]["server"] is None
    assert os.getpid() not in server_pids("http://127.0.0.1:1")


def test_one_students_attempts_come_in_rounds() -> None:
    headers = {
        "a": {"Authorization": "Bearer ta"},
        "b": {"Authorization": "Bearer tb", "X-Admission-Token": "pb"},
    }
    ordered = order_attempts({"a": [1, 2, 3], "b": [4], "c": [5]}, headers, seed=1)
    assert [a.section_id for a in ordered[2:]] == [2, 3]  # a's second and third come last
    assert {a.section_id for a in ordered[:2]} == {1, 4}
    assert PlannedAttempt(4, "tb", "pb") in ordered
    assert all(a.section_id != 5 for a in ordered)  # c was never admitted
