"""GET /healthz, GET /readyz and GET /api/v1/time (the clock the opening countdown uses)."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sugang.deps import ServicesDep

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


@router.get("/api/v1/time", response_model=TimeOut)
async def server_time(services: ServicesDep) -> TimeOut:
    now = services.clock()
    return TimeOut(now=now, epoch_ms=int(now.timestamp() * 1000))
