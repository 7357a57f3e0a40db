"""Queue endpoints for students, and the registrar's waiting-room controls."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from sugang.deps import Admin, CurrentStudent, IdPath, ServicesDep
from sugang.enrollment.rules import Admission
from sugang.errors import AdmissionInvalid, SugangError
from sugang.waitingroom import service
from sugang.waitingroom.room import Mode, RoomStatus
from sugang.waitingroom.tokens import read_admission

router = APIRouter(prefix="/api/v1", tags=["waiting room"])

ADMISSION_HEADER = "X-Admission-Token"
SSE_SECONDS = 15 * 60


class TicketOut(BaseModel):
    ticket: str
    term_id: int
    position: int | None = Field(description="1 = next; null until the opening lottery")
    ahead: int | None
    eta_seconds: float | None
    admitted: bool
    access_token: str | None = Field(
        default=None, description=f"send as {ADMISSION_HEADER} when enrolling or dropping"
    )
    access_expires_at: datetime | None = None
    poll_after_seconds: float | None = Field(
        default=None, description="ask again after this long (or follow the events stream)"
    )


class RoomOut(BaseModel):
    term_id: int
    rush_mode: bool
    accepting: bool
    paused: bool
    opens_at: datetime
    mode: Mode
    rate: float
    max_active: int
    session_seconds: int
    lottery_done: bool
    joined: int
    admitted: int
    waiting: int
    active: int
    eta_last_seconds: float | None


class RoomPatch(BaseModel):
    rush_mode: bool | None = None
    accepting: bool | None = Field(default=None, description="take new tickets (open/close)")
    paused: bool | None = Field(default=None, description="stop admitting for now")
    mode: Mode | None = None
    rate: Annotated[float, Field(gt=0, le=100_000)] | None = None
    max_active: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    session_seconds: Annotated[int, Field(ge=10, le=24 * 3600)] | None = None
    opens_at: AwareDatetime | None = Field(
        default=None, description="the opening (lottery) instant"
    )
    reset: bool = Field(default=False, description="forget every ticket (a rehearsal)")


def _ticket_out(view: service.TicketView) -> TicketOut:
    return TicketOut(
        ticket=view.ticket,
        term_id=view.term_id,
        position=view.place.position,
        ahead=view.place.ahead,
        eta_seconds=view.place.eta_seconds,
        admitted=view.place.admitted,
        access_token=view.access_token,
        access_expires_at=view.access_expires_at,
        poll_after_seconds=view.poll_after_seconds,
    )


def _room_out(rush_mode: bool, status: RoomStatus) -> RoomOut:
    return RoomOut(
        term_id=status.term_id,
        rush_mode=rush_mode,
        accepting=status.accepting,
        paused=status.paused,
        opens_at=datetime.fromtimestamp(status.opens_at, UTC),
        mode=status.policy.mode,
        rate=status.policy.rate,
        max_active=status.policy.max_active,
        session_seconds=status.policy.session_seconds,
        lottery_done=status.lottery_done,
        joined=status.joined,
        admitted=status.admitted,
        waiting=status.waiting,
        active=status.active,
        eta_last_seconds=status.eta_last_seconds,
    )


@router.post("/queue/tickets", response_model=TicketOut, status_code=201)
async def take_ticket(student: CurrentStudent, services: ServicesDep) -> TicketOut:
    """Join the current term's waiting room (or get your ticket again)."""
    return _ticket_out(await service.take_ticket(services, student.user_id))


@router.get("/queue/tickets/{ticket}", response_model=TicketOut)
async def ticket_state(ticket: str, student: CurrentStudent, services: ServicesDep) -> TicketOut:
    """Where you are; once admitted, `access_token` is your pass to enroll."""
    return _ticket_out(await service.ticket_view(services, ticket, student.user_id))


@router.get("/queue/tickets/{ticket}/events")
async def ticket_events(
    ticket: str, request: Request, student: CurrentStudent, services: ServicesDep
) -> StreamingResponse:
    """The same as GET, as server-sent events every second until admitted (then it ends)."""
    first = await service.ticket_view(services, ticket, student.user_id)

    async def events() -> AsyncIterator[str]:
        view = first
        for _ in range(SSE_SECONDS):
            body = _ticket_out(view).model_dump_json()
            yield f"event: place\ndata: {body}\n\n"
            if view.place.admitted or await request.is_disconnected():
                return
            await asyncio.sleep(1)
            try:
                view = await service.ticket_view(services, ticket, student.user_id)
            except SugangError as refusal:
                yield f"event: error\ndata: {json.dumps(refusal.to_body('en'))}\n\n"
                return

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/admin/terms/{term_id}/waiting-room", response_model=RoomOut)
async def get_room(term_id: IdPath, _: Admin, services: ServicesDep) -> RoomOut:
    """Depth, admitted so far, ETA of the last in line, and the admission policy."""
    return _room_out(*await service.room_status(services, term_id))


@router.patch("/admin/terms/{term_id}/waiting-room", response_model=RoomOut)
async def change_room(
    term_id: IdPath, body: RoomPatch, user: Admin, services: ServicesDep
) -> RoomOut:
    """Rush mode on/off, open/close, pause/resume, rate or mode; every change is audited."""
    change = service.RoomChange(**body.model_dump())
    return _room_out(*await service.change_room(services, term_id, change, user.user_id))


def admission_from(token: str | None, services: Any) -> Admission | None:
    """The verified pass from X-Admission-Token; a pass that fails its signature is refused
    here, before any database work."""
    if token is None:
        return None
    admission = read_admission(token, services.settings.secret_key.get_secret_value())
    if admission is None:
        raise AdmissionInvalid()
    return admission


AdmissionToken = Annotated[
    str | None,
    Header(
        alias=ADMISSION_HEADER,
        max_length=2048,
        description="the waiting room's pass (needed while the term is in rush mode)",
    ),
]
