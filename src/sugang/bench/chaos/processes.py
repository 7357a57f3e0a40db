"""Servers the chaos bench starts and kills: each a real process (redis-server, postgres,
haproxy, sugang serve), its output in a log file, stopped for good at the end."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ChaosError(Exception):
    """A part of the topology did not come up (its log says why)."""


@dataclass
class Server:
    """One server process, started again with the same command after a kill."""

    name: str
    command: Sequence[str]
    log: Path
    env: dict[str, str] | None = None
    process: "subprocess.Popen[bytes] | None" = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # its own process group: a kill reaches its children
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """The signal to the whole process group (a server's workers die with it)."""
        if self.running:
            assert self.process is not None
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return

    def stop(self, timeout: float = 20) -> None:
        if not self.running:
            return
        self.kill(signal.SIGTERM)
        assert self.process is not None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=5)

    def wait_for_exit(self, timeout: float = 20) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, what: Server | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if what is not None and what.process is not None and not what.running:
                break
            time.sleep(0.1)
    log = what.log.read_text(errors="replace")[-3000:] if what is not None else ""
    raise ChaosError(f"{what.name if what else f'{host}:{port}'} did not come up\n{log}")
