"""GET /healthz, GET /readyz, GET /metrics and GET /api/v1/time (the clock the opening
countdown uses)."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel

from sugang.http.deps import ClockDep
from sugang.observability.metrics import render, snapshot_text
from sugang.system.deps import System
from sugang.waitingroom.room import RoomStatus

router = APIRouter(tags=["system"])


class TimeOut(BaseModel):
    now: datetime
    epoch_ms: int


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(system: System) -> JSONResponse:
    """Whether to send this process traffic: 503 while it shuts down or after the database
    failed several checks in a row (read on a connection of its own, so a busy pool never
    makes a busy replica look dead)."""
    verdict = await system.ready()
    if not verdict.ready:
        return JSONResponse(
            {"status": "unavailable", "database": verdict.database},
            status_code=503,
            headers={"Retry-After": "2"},
        )
    return JSONResponse({"status": "ok", "database": verdict.database})


@router.get("/metrics", include_in_schema=False)
async def metrics(system: System) -> Response:
    """Prometheus exposition: every worker's samples, plus the rush term's waiting room and
    seats left on the fullest sections of the current term (read at scrape time, so right
    whichever worker answers)."""
    extra = b""
    try:
        if (room := await system.rush_room()) is not None:
            extra += snapshot_text(_room_gauges(room))
    except Exception:  # the database or Redis is down: the other metrics still matter
        pass
    try:
        seats = GaugeMetricFamily(
            "sugang_section_seats_left",
            "Seats left, for the fullest sections of the current term.",
            labels=["section_id", "course_code", "section"],
        )
        for r in await system.fullest_sections():
            seats.add_metric([str(r.id), r.code, str(r.number)], r.seats_left)
        if system.sections:
            extra += snapshot_text([seats])
    except Exception:  # the rest of the metrics matter most when the database is down
        pass
    body, content_type = render(extra)
    return Response(body, media_type=content_type)


def _room_gauges(status: RoomStatus) -> list[GaugeMetricFamily]:
    families = []
    for name, doc, value in (
        ("sugang_waiting_room_depth", "Students waiting, not admitted yet.", status.waiting),
        (
            "sugang_waiting_room_admitted",
            "Students admitted since the room opened (rate() of it is admissions per second).",
            status.admitted,
        ),
        ("sugang_waiting_room_active_sessions", "Admitted sessions still live.", status.active),
        (
            "sugang_waiting_room_admission_rate",
            "The admission rate now (students/second).",
            status.policy.rate,
        ),
        ("sugang_waiting_room_paused", "1 while admission is paused.", int(status.paused)),
    ):
        family = GaugeMetricFamily(name, doc, labels=["term_id"])
        family.add_metric([str(status.term_id)], value)
        families.append(family)
    return families


@router.get("/api/v1/time", response_model=TimeOut)
async def server_time(clock: ClockDep) -> TimeOut:
    now = clock()
    return TimeOut(now=now, epoch_ms=int(now.timestamp() * 1000))
