"""GET /healthz, GET /readyz and GET /api/v1/time (the clock the opening countdown uses)."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel
from sqlalchemy import text

from sugang.deps import ServicesDep
from sugang.observability.metrics import render, snapshot_text

router = APIRouter(tags=["system"])


class TimeOut(BaseModel):
    now: datetime
    epoch_ms: int


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database answers; otherwise 503 so a load balancer stops sending traffic."""
    try:
        await services.db.ping()
    except Exception as error:  # any failure to reach the database means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": type(error).__name__},
            status_code=503,
            headers={"Retry-After": "2"},
        )
    return JSONResponse({"status": "ok", "database": "ok"})


_FULLEST_SECTIONS = text(
    """
    SELECT s.id, c.code, s.number, s.capacity - s.enrolled AS seats_left
    FROM sections s JOIN courses c ON c.id = s.course_id
    JOIN terms t ON t.id = s.term_id AND t.is_current
    ORDER BY s.enrolled * 1.0 / CASE WHEN s.capacity > 0 THEN s.capacity ELSE 1 END DESC, s.id
    LIMIT :limit
    """
)


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition: every worker's samples, plus seats left on the fullest sections
    of the current term (read from the database, so right whichever worker answers)."""
    extra = await _waiting_room_metrics(services)
    if services.settings.metrics_sections:
        try:
            async with services.db.transaction(write=False) as conn:
                rows = (
                    await conn.execute(
                        _FULLEST_SECTIONS, {"limit": services.settings.metrics_sections}
                    )
                ).all()
            seats = GaugeMetricFamily(
                "sugang_section_seats_left",
                "Seats left, for the fullest sections of the current term.",
                labels=["section_id", "course_code", "section"],
            )
            for r in rows:
                seats.add_metric([str(r.id), r.code, str(r.number)], r.seats_left)
            extra += snapshot_text([seats])
        except Exception:  # the rest of the metrics matter most when the database is down
            pass
    body, content_type = render(extra)
    return Response(body, media_type=content_type)


_RUSH_TERM = text("SELECT id FROM terms WHERE is_current AND rush_mode ORDER BY id DESC LIMIT 1")


async def _waiting_room_metrics(services: ServicesDep) -> bytes:
    """The current term's room, read at scrape time (the room is shared, so any replica's
    answer is the whole room's)."""
    try:
        async with services.db.transaction(write=False) as conn:
            term_id = await conn.scalar(_RUSH_TERM)
        if term_id is None:
            return b""
        status = await services.room.status(term_id, services.clock().timestamp())
    except Exception:  # the database or Redis is down: the other metrics still matter
        return b""
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
        family.add_metric([str(term_id)], value)
        families.append(family)
    return snapshot_text(families)


@router.get("/api/v1/time", response_model=TimeOut)
async def server_time(services: ServicesDep) -> TimeOut:
    now = services.clock()
    return TimeOut(now=now, epoch_ms=int(now.timestamp() * 1000))
