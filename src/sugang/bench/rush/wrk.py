"""The wrk driver of `sugang bench rush`: the planned attempts sent by wrk (a load generator
written in C, from Debian's package) with the Lua script beside this module, so the client
takes next to no CPU and the server's cost per attempt can be read cleanly.

wrk knows answers, not journeys: the students are logged in and (in rush mode) admitted by
the waiting room first, untimed, and wrk then sends every attempt with its pass."""

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sugang.bench.cpu import CpuMeter

SCRIPT = Path(__file__).with_name("rush.lua")
# wrk stops by itself once every attempt is answered; this is only its upper bound.
TIME_LIMIT_SECONDS = 900
ANSWER_TIMEOUT_SECONDS = 120
MARK_POLL_SECONDS = 0.005


class WrkMissing(RuntimeError):
    pass


def ensure_wrk() -> str:
    """wrk's path, installed from Debian's packages when missing (as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WrkMissing("wrk is not installed: run `sudo apt-get install wrk`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise WrkMissing(f"installing wrk failed: {done.stderr.strip()[-400:]}")
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("apt-get installed wrk, but it is not on PATH")
    return found


@dataclass(frozen=True)
class PlannedAttempt:
    section_id: int
    token: str
    admission: str | None = None


def order_attempts(
    attempts: dict[str, list[int]], headers: dict[str, dict[str, str]], seed: int
) -> list[PlannedAttempt]:
    """Every student's first attempt, then every student's second, ...: one student's clicks
    come one after another, not all at once (the students in a random order each round)."""
    students = [s for s in attempts if s in headers]
    random.Random(seed).shuffle(students)
    rounds = max((len(v) for v in attempts.values()), default=0)
    planned = []
    for index in range(rounds):
        for student in students:
            if index < len(attempts[student]):
                sent = headers[student]
                planned.append(
                    PlannedAttempt(
                        attempts[student][index],
                        sent["Authorization"].removeprefix("Bearer "),
                        sent.get("X-Admission-Token"),
                    )
                )
    return planned


@dataclass
class WrkResult:
    answers: int
    planned: int
    seconds: float
    latency_ms: dict[str, float]
    outcomes: dict[str, int]
    per_second: list[dict[str, int]]  # answers by status, one entry per second of the run
    socket_errors: dict[str, int]
    enrollment_ids: list[int] = field(default_factory=list)
    client_cpu_seconds: float = 0.0

    @property
    def attempts_per_second(self) -> float:
        return self.answers / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.outcomes.items() if key[:1] == "5")

    def summary(self) -> dict[str, Any]:
        return {
            "driver": "wrk",
            "attempts": self.answers,
            "planned": self.planned,
            "wall_seconds": round(self.seconds, 3),
            "attempts_per_second": round(self.attempts_per_second, 1),
            "latency_ms": {k: round(v, 2) for k, v in self.latency_ms.items()},
            "outcomes": dict(sorted(self.outcomes.items())),
            "server_errors": self.server_errors,
            "socket_errors": self.socket_errors,
        }


def _run(command: list[str], finished: list[Path]) -> tuple[str, str, int, float, float]:
    """Run wrk until every thread has marked its last answer (then SIGINT: wrk would run out
    its whole -d otherwise); its output, exit status, own CPU seconds (from wait4) and the
    seconds from its start to the last mark."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        subprocess.Popen(command, stdout=out, stderr=err) as process,
    ):
        started = time.perf_counter()
        seconds = 0.0
        while process.poll() is None:
            if all(mark.exists() for mark in finished):
                seconds = time.perf_counter() - started
                process.send_signal(signal.SIGINT)
                break
            time.sleep(MARK_POLL_SECONDS)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), process.returncode, usage.ru_utime + usage.ru_stime, seconds


async def run_wrk(
    url: str, attempts: list[PlannedAttempt], connections: int, threads: int = 2
) -> WrkResult:
    """Send every planned attempt once over `connections` connections; the answers and the
    client's own CPU time."""
    wrk = ensure_wrk()
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="sugang-wrk-") as folder:
        plan = Path(folder) / "plan.tsv"
        plan.write_text(
            "".join(f"{a.section_id}\t{a.token}\t{a.admission or ''}\n" for a in attempts)
        )
        enrolled = Path(folder) / "enrolled"
        command = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{TIME_LIMIT_SECONDS}s",
            f"--timeout={ANSWER_TIMEOUT_SECONDS}s",
            "-s",
            str(SCRIPT),
            url,
            "--",
            str(plan),
            str(enrolled),
            str(threads),
        ]
        marks = [Path(f"{enrolled}.{index}.done") for index in range(threads)]
        out, err, status, cpu, seconds = await asyncio.to_thread(_run, command, marks)
        if status != 0 or not out.strip() or not seconds:
            raise RuntimeError(f"wrk failed ({status}): {err.strip()[-400:] or out[-400:]}")
        report = json.loads(out.strip().splitlines()[-1])
        ids = [
            int(line)
            for index in range(threads)
            if (part := Path(f"{enrolled}.{index}")).exists()
            for line in part.read_text().split()
        ]
    bins: dict[int, dict[str, int]] = {}
    for key, count in report["per_second"].items():  # "<unix second> <status>"
        second, status = key.split()
        bins.setdefault(int(second), {})[status] = count
    per_second = [bins.get(s, {}) for s in range(min(bins, default=0), max(bins, default=-1) + 1)]
    return WrkResult(
        answers=report["answered"],
        planned=report["planned"],
        seconds=seconds,
        latency_ms=report["latency_ms"],
        outcomes=report["outcomes"],
        per_second=per_second,
        socket_errors=report["socket_errors"],
        enrollment_ids=ids,
        client_cpu_seconds=cpu,
    )


async def measure_with_wrk(
    url: str, attempts: list[PlannedAttempt], connections: int
) -> tuple[WrkResult, dict[str, Any]]:
    """The run and the CPU it cost: the server's, the database's, Redis's and wrk's own."""
    meter = CpuMeter(url)
    result = await run_wrk(url, attempts, connections)
    return result, meter.stop(result.answers, load_generator_seconds=result.client_cpu_seconds)
