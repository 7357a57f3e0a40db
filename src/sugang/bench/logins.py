"""`sugang bench logins`: logins per second against the ceiling the hash sets, and real logins
while a flood of wrong passwords arrives from many addresses.

A login is one argon2id verification, so the service can answer no more logins per second
than its cores verify hashes: the bench measures that rate on this machine before and after
the logins (every core, one process each, the server's parameters) and reports logins/s as
a share of their mean. With `flood_addresses`, bots
send wrong passwords for real student numbers from that many loopback addresses (127.0.1.x;
a loopback server only) at full speed, ignoring Retry-After, while the students log in as
the web UI does (a 429 or 503 is tried again after its Retry-After): the report gives each
student's time from first try to token, and what the bots were answered.
"""

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from argon2 import PasswordHasher

from sugang.bench.load import Credential

LOGIN_DEADLINE_SECONDS = 60.0  # a student still without a token then counts as failed


@dataclass(frozen=True)
class LoginScenario:
    base_url: str
    credentials: Sequence[Credential]
    concurrency: int = 16
    flood_addresses: int = 0
    flood_concurrency: int = 200
    memory_kib: int = 19 * 1024
    time_cost: int = 2


@dataclass
class LoginReport:
    verify_per_second: float = 0.0
    verify_rates: tuple[float, float] = (0.0, 0.0)  # before and after the logins
    logins: int = 0
    failed_logins: int = 0
    wall_seconds: float = 0.0
    login_seconds: list[float] = field(default_factory=list)
    login_retries: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # what students were told to wait
    flood: Counter[str] = field(default_factory=Counter)
    flood_seconds: float = 0.0

    @property
    def logins_per_second(self) -> float:
        return self.logins / self.wall_seconds if self.wall_seconds else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.login_seconds)

        def quantile(q: float) -> float:
            if not ordered:
                return 0.0
            return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

        flood_total = sum(self.flood.values())
        return {
            "verify_per_second": round(self.verify_per_second, 1),
            "verify_per_second_before_after": [round(rate, 1) for rate in self.verify_rates],
            "logins": self.logins,
            "failed_logins": self.failed_logins,
            "logins_per_second": round(self.logins_per_second, 1),
            "share_of_verify_rate": round(self.logins_per_second / self.verify_per_second, 3)
            if self.verify_per_second
            else None,
            "login_ms": {
                name: round(quantile(q), 1)
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
            },
            "login_retries": self.login_retries,
            "login_refusals": dict(sorted(self.refusals.items())),
            "flood": {
                "attempts": flood_total,
                "per_second": round(flood_total / self.flood_seconds, 1)
                if self.flood_seconds
                else 0.0,
                "answers": dict(sorted(self.flood.items())),
            },
        }


def _verify_for(seconds: float, memory_kib: int, time_cost: int) -> int:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    stored = hasher.hash("bench-password")
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        hasher.verify(stored, "bench-password")
        done += 1
    return done


def verify_rate(memory_kib: int, time_cost: int, seconds: float = 3.0) -> float:
    """argon2id verifications per second with every core busy (one process per core)."""
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        counts = pool.map(_verify_for, [seconds] * cores, [memory_kib] * cores, [time_cost] * cores)
        return sum(counts) / seconds


async def _login_until_in(
    http: aiohttp.ClientSession, credential: Credential, report: LoginReport
) -> None:
    form = {"username": credential.student_number, "password": credential.password}
    started = time.perf_counter()
    while time.perf_counter() - started < LOGIN_DEADLINE_SECONDS:
        async with http.post("/api/v1/auth/token", data=form) as response:
            body = await response.json(content_type=None)
            if response.status == 200:
                report.logins += 1
                report.login_seconds.append(time.perf_counter() - started)
                return
            report.refusals[f"{response.status} {(body or {}).get('code', '')}"] += 1
            if response.status not in (429, 503):
                break
            report.login_retries += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    report.failed_logins += 1


async def _flood(scenario: LoginScenario, report: LoginReport, stop: asyncio.Event) -> None:
    """Wrong passwords for real student numbers, from `flood_addresses` loopback addresses,
    as fast as the answers come back."""
    chooser = random.Random(7)
    numbers = [c.student_number for c in scenario.credentials]
    sessions = [
        aiohttp.ClientSession(
            scenario.base_url,
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.1.{n + 1}", 0), limit=0),
        )
        for n in range(scenario.flood_addresses)
    ]

    async def bot(http: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            form = {"username": chooser.choice(numbers), "password": "not-the-password"}
            try:
                async with http.post("/api/v1/auth/token", data=form) as response:
                    body = await response.json(content_type=None)
                    report.flood[f"{response.status} {(body or {}).get('code', '')}"] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                report.flood[f"client {type(error).__name__}"] += 1

    started = time.perf_counter()
    try:
        bots = [bot(sessions[n % len(sessions)]) for n in range(scenario.flood_concurrency)]
        await asyncio.gather(*bots)
    finally:
        report.flood_seconds = time.perf_counter() - started
        for http in sessions:
            await http.close()


async def run_logins(scenario: LoginScenario) -> LoginReport:
    """Every credential logs in once (at `concurrency` at a time), under a flood if asked."""
    report = LoginReport()
    before = await asyncio.to_thread(verify_rate, scenario.memory_kib, scenario.time_cost)
    stop = asyncio.Event()
    flood = (
        asyncio.create_task(_flood(scenario, report, stop)) if scenario.flood_addresses else None
    )
    if flood:
        await asyncio.sleep(1.0)  # the flood is under way before the first student arrives
    pending = list(scenario.credentials)
    connector = aiohttp.TCPConnector(limit=scenario.concurrency)
    async with aiohttp.ClientSession(scenario.base_url, connector=connector) as http:

        async def student() -> None:
            while pending:
                await _login_until_in(http, pending.pop(), report)

        started = time.perf_counter()
        await asyncio.gather(*(student() for _ in range(scenario.concurrency)))
        report.wall_seconds = time.perf_counter() - started
    stop.set()
    if flood:
        await flood
    # Measured before and after (a shared machine's speed drifts): the mean is the ceiling.
    after = await asyncio.to_thread(verify_rate, scenario.memory_kib, scenario.time_cost)
    report.verify_rates = (before, after)
    report.verify_per_second = (before + after) / 2
    return report
