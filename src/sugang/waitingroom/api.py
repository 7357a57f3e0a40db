"""Queue endpoints for students. (The registrar's controls: sugang.registrar.api.)"""

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from sugang.auth.deps import CurrentStudent
from sugang.errors import SugangError
from sugang.waitingroom.deps import Queue
from sugang.waitingroom.schemas import TicketOut

router = APIRouter(prefix="/api/v1", tags=["waiting room"])

SSE_SECONDS = 15 * 60


@router.post("/queue/tickets", response_model=TicketOut, status_code=201)
async def take_ticket(student: CurrentStudent, queue: Queue) -> TicketOut:
    """Join the current term's waiting room (or get your ticket again)."""
    return await queue.take_ticket(student.user_id)


@router.get("/queue/tickets/{ticket}", response_model=TicketOut)
async def ticket_state(ticket: str, student: CurrentStudent, queue: Queue) -> TicketOut:
    """Where you are; once admitted, `access_token` is your pass to enroll."""
    return await queue.ticket(ticket, student.user_id)


@router.get("/queue/tickets/{ticket}/events")
async def ticket_events(
    ticket: str, request: Request, student: CurrentStudent, queue: Queue
) -> StreamingResponse:
    """The same as GET, as server-sent events every second until admitted (then it ends)."""
    first = await queue.ticket(ticket, student.user_id)

    async def events() -> AsyncIterator[str]:
        view = first
        for _ in range(SSE_SECONDS):
            yield f"event: place\ndata: {view.model_dump_json()}\n\n"
            if view.admitted or await request.is_disconnected():
                return
            await asyncio.sleep(1)
            try:
                view = await queue.ticket(ticket, student.user_id)
            except SugangError as refusal:
                yield f"event: error\ndata: {json.dumps(refusal.to_body('en'))}\n\n"
                return

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
