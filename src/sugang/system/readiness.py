"""Whether this process should be sent traffic: not when it is shutting down, nor when the
database has failed several checks in a row. One failed check is not enough (a blip, a
failover in progress): every replica would leave the load balancer at once, and students
would meet a refused connection instead of a 503 with Retry-After."""

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import FrameType


@dataclass(frozen=True)
class Verdict:
    ready: bool
    database: str  # "ok", or the last failure and how many in a row


class Readiness:
    def __init__(
        self,
        probe: Callable[[], Awaitable[None]],
        failures_to_unready: int,
        *,
        every_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`probe` raises when the database does not answer; it runs at most once every
        `every_seconds` whoever asks (the kubelet, a load balancer, a person)."""
        self.probe = probe
        self.failures_to_unready = failures_to_unready
        self.every_seconds = every_seconds
        self.clock = clock
        self.draining = False
        self.failures = 0
        self.last_failure = ""
        self._checked_at = float("-inf")
        self._checking = False

    async def verdict(self) -> Verdict:
        """The verdict, checking the database first when the last check is a second old."""
        now = self.clock()
        if (
            not self.draining
            and not self._checking
            and now - self._checked_at >= self.every_seconds
        ):
            self._checked_at, self._checking = now, True  # one check at a time, however asked
            try:
                await self.probe()
                self.failures = 0
            except Exception as error:  # any failure to reach the database counts
                self.failures += 1
                self.last_failure = type(error).__name__
            finally:
                self._checking = False
        return self.snapshot()

    def snapshot(self) -> Verdict:
        """The verdict from the checks made so far, without waiting for anything (what the
        health port's thread answers)."""
        if self.draining:
            return Verdict(False, "draining")
        if self.failures == 0:
            return Verdict(True, "ok")
        database = f"{self.last_failure} ({self.failures} in a row)"
        return Verdict(self.failures < self.failures_to_unready, database)

    async def watch(self) -> None:
        """Keep the checks current whether or not anyone asks (for the health port)."""
        while True:
            await self.verdict()
            await asyncio.sleep(self.every_seconds)

    def drain_on_sigterm(self) -> None:
        """Not ready from the moment SIGTERM arrives, while uvicorn lets the requests in flight
        finish (the lifespan's shutdown runs only after them); the server's own handling of
        the signal goes on as before."""
        previous = signal.getsignal(signal.SIGTERM)

        def drain(signum: int, frame: FrameType | None) -> None:
            self.draining = True
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGTERM, drain)
