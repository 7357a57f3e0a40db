"""The rush second by second: the attempts answered in each second (2xx among them), their
p50/p99 latency, and the admission rate the waiting room was set to (`bench rush --plot`)."""

import asyncio
import bisect
import contextlib
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from sugang.bench.load import Answer
from sugang.bench.rush.journey import admin_token
from sugang.bench.rush.scenario import RushScenario, quantiles
from sugang.seed.synthetic import SyntheticTerm

SAMPLE_PERIOD_SECONDS = 1.0
# A reading slower than this is skipped (the next one comes a period later).
READ_TIMEOUT_SECONDS = 5.0


@dataclass
class AdmissionRates:
    """The room's admission rate as read during the rush; `started` is second 0 of it."""

    started: float  # time.perf_counter()
    readings: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, rate)

    def at(self, second: int) -> float | None:
        """The rate last read by the end of `second`; None before the first reading."""
        after = bisect.bisect_left(self.readings, float(second + 1), key=lambda reading: reading[0])
        return self.readings[after - 1][1] if after else None

    @property
    def last_second(self) -> int:
        return max((math.floor(at) for at, _ in self.readings), default=-1)


@contextlib.asynccontextmanager
async def sample_admission_rate(
    term: SyntheticTerm, scenario: RushScenario, period: float = SAMPLE_PERIOD_SECONDS
) -> AsyncIterator[AdmissionRates | None]:
    """While the block runs, the room's admission rate read once a `period` through the
    registrar API (so the server's own room is read, in its process or in Redis); None when
    the room is off. A room admitting by concurrency has no rate: nothing is read then."""
    if not scenario.waiting_room or scenario.admission_mode == "concurrency":
        yield None
        return
    timeout = aiohttp.ClientTimeout(total=READ_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(scenario.url, timeout=timeout) as http:
        headers = {"Authorization": f"Bearer {await admin_token(http, term, scenario.seed)}"}
        path = f"/api/v1/admin/terms/{term.term_id}/waiting-room"
        rates = AdmissionRates(time.perf_counter())
        reading = asyncio.create_task(_read_rates(http, path, headers, rates, period))
        try:
            yield rates
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading


async def _read_rates(
    http: aiohttp.ClientSession,
    path: str,
    headers: dict[str, str],
    rates: AdmissionRates,
    period: float,
) -> None:
    tick = 0
    while True:
        asked = time.perf_counter()
        # A reading lost to a busy server leaves the rate read before in place.
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(path, headers=headers) as response:
                if response.status == 200:
                    room = await response.json()
                    rates.readings.append((asked - rates.started, float(room["rate"])))
        # On the period's ticks from the start, so a slow reading does not shift the rest.
        tick = max(tick + 1, math.ceil((time.perf_counter() - rates.started) / period))
        await asyncio.sleep(max(0.0, rates.started + tick * period - time.perf_counter()))


@dataclass(frozen=True)
class Second:
    second: int  # from the start of the rush
    answers: int
    answers_2xx: int
    p50_ms: float | None  # of the attempts answered in this second; None without latencies
    p99_ms: float | None
    admission_rate: float | None  # admissions/s the room was set to; None when it is off


@dataclass(frozen=True)
class Timeline:
    seconds: list[Second]

    @classmethod
    def from_answers(
        cls, answers: Sequence[Answer], admission: AdmissionRates | None = None
    ) -> "Timeline":
        """The aiohttp driver's answers, each in the second it was answered in, counted from
        the start of the readings of the room (or from the first attempt sent)."""
        if admission is not None:
            origin = admission.started
        else:
            origin = min((a.sent_at for a in answers), default=0.0)
        answered: dict[int, list[Answer]] = defaultdict(list)
        for a in answers:
            answered[max(0, math.floor(a.sent_at + a.seconds - origin))].append(a)
        last = max(max(answered, default=-1), admission.last_second if admission else -1)
        seconds = []
        for second in range(last + 1):
            bucket = answered.get(second, [])
            latency = quantiles([a.seconds * 1000 for a in bucket])
            seconds.append(
                Second(
                    second,
                    answers=len(bucket),
                    answers_2xx=sum(200 <= a.status < 300 for a in bucket),
                    p50_ms=latency.get("p50"),
                    p99_ms=latency.get("p99"),
                    admission_rate=admission.at(second) if admission else None,
                )
            )
        return cls(seconds)

    @classmethod
    def from_counts(
        cls,
        per_second: Sequence[Mapping[int, int] | Mapping[str, int]],
        admission: AdmissionRates | None = None,
    ) -> "Timeline":
        """Answers counted per second by status (wrk's: "201", or "409 SECTION_FULL" as in
        its outcomes), so no latency per second; second 0 is taken to be when the readings
        of the room began."""
        last = max(len(per_second) - 1, admission.last_second if admission else -1)
        seconds = []
        for second in range(last + 1):
            counts = per_second[second] if second < len(per_second) else {}
            seconds.append(
                Second(
                    second,
                    answers=sum(counts.values()),
                    answers_2xx=sum(n for key, n in counts.items() if 200 <= _status(key) < 300),
                    p50_ms=None,
                    p99_ms=None,
                    admission_rate=admission.at(second) if admission else None,
                )
            )
        return cls(seconds)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> "Timeline":
        """Back from `rows()` (a JSON report's `timeline`)."""
        return cls([Second(**row) for row in rows])

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(second) for second in self.seconds]

    @property
    def has_latency(self) -> bool:
        return any(s.p50_ms is not None for s in self.seconds)

    @property
    def has_admission_rate(self) -> bool:
        return any(s.admission_rate is not None for s in self.seconds)


def _status(key: int | str) -> int:
    return key if isinstance(key, int) else int(key.split(" ", 1)[0])
