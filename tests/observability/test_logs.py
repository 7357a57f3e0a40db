"""Log lines: JSON lines with the request id wherever logs are collected (a file, a pipe, a
container), readable lines when a person watches a terminal."""

import json
import logging
import os
import pty
import re
import threading
from pathlib import Path

import httpx
import pytest

from sugang.observability.logs import ConsoleFormatter, chosen_format, request_id
from tests.support.factories import Factory, student_client
from tests.support.server import STOPPED, start_server, stop


@pytest.mark.slow
def test_logs_are_json_lines_carrying_the_request_id(demo_db: str, tmp_path: Path) -> None:
    process, base = start_server(demo_db, tmp_path / "server.log", 1)
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
    assert mine[0]["client"] == "127.0.0.1" and "user_id" not in mine[0]


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("sugang.access", logging.INFO, __file__, 1, message, None, None)
    made.__dict__.update(extra)
    return made


def test_a_console_line_reads_left_to_right_with_the_request_id_last() -> None:
    token = request_id.set("abc123")
    try:
        line = ConsoleFormatter().format(
            record("GET /api/v1/time 200", route="/api/v1/time", status=200, duration_ms=0.4)
        )
    finally:
        request_id.reset(token)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d\.\d{3} INFO  sugang\.access +GET /api/v1/time 200"
        r"  duration_ms=0\.4  rid=abc123",
        line,
    ), line


def test_auto_means_console_on_a_terminal_and_json_elsewhere(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    try:
        with os.fdopen(os.dup(secondary), "w") as terminal, (tmp_path / "log").open("w") as file:
            assert chosen_format("auto", terminal) == "console"
            assert chosen_format("auto", file) == "json"
            assert chosen_format("json", terminal) == "json"
            assert chosen_format("console", file) == "console"
    finally:
        os.close(primary)
        os.close(secondary)


@pytest.mark.slow
def test_sugang_serve_on_a_terminal_prints_readable_lines(demo_db: str, tmp_path: Path) -> None:
    """What a newcomer sees after `make run`: the server's log on their terminal."""
    primary, secondary = pty.openpty()
    printed: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(primary, printed), daemon=True)
    reader.start()  # read as it is written: a full terminal buffer would stall the server
    try:
        process, base = start_server(demo_db, tmp_path / "server.log", 1, stderr=secondary)
        try:
            httpx.get(f"{base}/api/v1/time", headers={"X-Request-ID": "find-me-43"})
        finally:
            assert stop(process) in STOPPED
    finally:
        os.close(secondary)
        reader.join(timeout=10)
        os.close(primary)
    text = b"".join(printed).decode(errors="replace")
    mine = [line for line in text.splitlines() if "rid=find-me-43" in line]
    assert mine and "sugang.access" in mine[0] and "GET /api/v1/time 200" in mine[0], text
    assert not any(line.lstrip().startswith("{") for line in text.splitlines()), text


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end is closed: everything was read
            return
        if not chunk:
            return
        into.append(chunk)


async def test_the_access_log_names_the_client_and_the_user(
    client: httpx.AsyncClient, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    user, headers = await student_client(client, factory)
    with caplog.at_level(logging.INFO, logger="sugang.access"):
        await client.get("/api/v1/me", headers=headers)
        await client.get("/api/v1/me")
    known, anonymous = [r for r in caplog.records if r.name == "sugang.access"][-2:]
    assert known.__dict__["user_id"] == user and known.__dict__["client"] == "127.0.0.1"
    assert "user_id" not in anonymous.__dict__ and anonymous.__dict__["status"] == 401


def test_past_its_budget_a_second_the_access_log_keeps_only_errors_and_slow_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sugang.observability.middleware import AccessSampler

    now = [100.2]
    sampler = AccessSampler(per_second=3, slow_seconds=1.0, clock=lambda: now[0])
    kept = [sampler.keep(409, 0.001) for _ in range(5)]
    assert kept == [True, True, True, False, False]
    assert sampler.keep(500, 0.001) and sampler.keep(409, 1.5)  # errors and slow ones, always
    assert not sampler.keep(503, 0.001)  # shed answers are the flood itself
    with caplog.at_level(logging.INFO, logger="sugang.access"):
        now[0] = 101.0
        assert sampler.keep(201, 0.001)  # a new second, a new budget
    [summary] = [r for r in caplog.records if r.name == "sugang.access"]
    assert summary.getMessage() == "3 answers not logged in a second (over 3 a second)"
