"""Real `sugang` processes for tests that need them: the command line, and `sugang serve`
(one or several worker processes) on a free loopback port."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import TEST_SECRET, ensure_pg_database, pg_url

SUGANG = str(Path(sys.executable).with_name("sugang"))
# Uvicorn shuts down gracefully on SIGTERM, then re-raises it so the exit status says why.
STOPPED = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SUGANG_DATABASE_URL": database_url,
        "SUGANG_SECRET_KEY": TEST_SECRET,
        "SUGANG_ENVIRONMENT": "test",
        **extra,
    }


def sugang(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SUGANG, *args],
        env=env_for(database_url),
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def start_server(
    database_url: str,
    log: Path,
    workers: int = 1,
    *,
    env: dict[str, str] | None = None,
    stderr: IO[Any] | int | None = None,
) -> tuple["subprocess.Popen[bytes]", str]:
    """`sugang serve` on a free port, its output in `log` (stderr elsewhere if given); the
    process and its base URL, once /readyz answers."""
    port = free_port()
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [SUGANG, "serve", "--port", str(port), "--workers", str(workers)],
            env=env_for(database_url, **(env or {})),
            stdout=out,
            stderr=subprocess.STDOUT if stderr is None else stderr,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: "subprocess.Popen[bytes]") -> int:
    """SIGTERM, as Kubernetes sends it; the exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


@contextmanager
def running_server(
    database_url: str, workers: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[str]:
    process, url = start_server(database_url, log, workers, env=env)
    try:
        yield url
    finally:
        stop(process)


@contextmanager
def demo_server(
    tmp_path_factory: "pytest.TempPathFactory", database: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """A fresh PostgreSQL database with the demo catalog and accounts, and a server on it."""
    url = make_url(pg_url()).set(database=database).render_as_string(hide_password=False)
    asyncio.run(ensure_pg_database(url))
    sugang("db", "upgrade", database_url=url)
    sugang("seed", "--demo", database_url=url)
    log = tmp_path_factory.mktemp(database) / "server.log"
    with running_server(url, workers=1, log=log, env=env) as base:
        yield base
