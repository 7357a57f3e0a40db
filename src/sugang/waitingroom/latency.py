"""The enroll endpoint's latency as the whole service sees it, for the adaptive room's step.

Each worker counts its answers in memory, in a fixed log-scale histogram (on the request path:
a bisect and an increment, no I/O). Once a slice (1 s) it adds them to the service's counts
of that slice in the room's store: with Redis, one pipelined round trip of HINCRBYs that every
worker of every replica adds to; with the in-process room, a dict. The worker that takes the
period's step publishes its own counts first, then reads the last window's slices back added
up (one round trip) and judges from them: what the service served, not what one worker saw.

A slice holds what its workers published during it, so the window reads between `window` and
`window + slice` seconds of answers, less what the other workers have not published yet (at
most one slice each): fewer samples, not different ones.
"""

import logging
import math

from sugang.errors import QueueUnavailable
from sugang.waitingroom.controller import LatencyHistogram, Observation
from sugang.waitingroom.room import WaitingRoom

log = logging.getLogger("sugang.waitingroom")


class ServiceLatency:
    def __init__(
        self, store: WaitingRoom, window_seconds: float, slice_seconds: float = 1.0
    ) -> None:
        self.store = store
        self.window_seconds = window_seconds
        self.slice_seconds = slice_seconds
        self._pending = LatencyHistogram()
        self._unreachable = False

    def record(self, seconds: float, error: bool) -> None:
        """One answer of the enroll endpoint, served by this worker (on the request path)."""
        self._pending.record(seconds, error)

    async def publish(self, now: float) -> None:
        """Add what this worker saw since it last published to the service's slice of `now`.
        If the store is out of reach the counts are dropped (by the time it is back they are
        older than the window), and the outage is logged once."""
        seen, self._pending = self._pending, LatencyHistogram()
        if seen.total == 0:
            return
        try:
            await self.store.add_latency(self._slice(now), seen, self._ttl_seconds)
        except QueueUnavailable as error:
            self._lost(error)
        else:
            self._back()

    async def observe(self, now: float) -> Observation | None:
        """What the service served in the window up to `now` (this worker's answers so far
        included); None if the store is out of reach."""
        await self.publish(now)
        first = math.floor((now - self.window_seconds) / self.slice_seconds) + 1
        try:
            seen = await self.store.latency(range(first, self._slice(now) + 1))
        except QueueUnavailable as error:
            self._lost(error)
            return None
        self._back()
        return seen.observe()

    def _slice(self, now: float) -> int:
        return math.floor(now / self.slice_seconds)

    @property
    def _ttl_seconds(self) -> int:
        # A slice is read for `window` seconds after its last addition at most, and its
        # last addition comes up to a slice after it began.
        return math.ceil(self.window_seconds + self.slice_seconds) + 1

    def _lost(self, error: QueueUnavailable) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning(
                "the service's latency cannot be shared (%r): adaptive steps skipped until "
                "the waiting room's store is back",
                error.__cause__ or error,
            )

    def _back(self) -> None:
        if self._unreachable:
            self._unreachable = False
            log.info("the service's latency is shared again")
