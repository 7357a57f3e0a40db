"""Start a real `sugang serve` (several worker processes) for tests that need HTTP for real."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET

SUGANG = str(Path(sys.executable).with_name("sugang"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SUGANG_DATABASE_URL": database_url,
        "SUGANG_SECRET_KEY": TEST_SECRET,
        "SUGANG_ENVIRONMENT": "test",
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


@contextmanager
def running_server(database_url: str, workers: int, log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                SUGANG,
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env=env_for(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
