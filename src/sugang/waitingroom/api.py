"""Queue endpoints for students. (The registrar's controls: sugang.registrar.api.)"""

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from sugang.auth.deps import CurrentStudent, RevocationsDep, per_student_cap
from sugang.buckets import Bucket
from sugang.errors import NotAuthenticated, SugangError, TooManyStreams
from sugang.http.deps import SettingsDep
from sugang.waitingroom.deps import ChallengePassed, Queue
from sugang.waitingroom.schemas import TicketOut
from sugang.waitingroom.streams import StreamSlots

router = APIRouter(prefix="/api/v1", tags=["waiting room"])

SSE_SECONDS = 15 * 60
_slots: dict[int, StreamSlots] = {}  # by limit: one set of counts per process


_ticket_cap = per_student_cap(
    "ticket",
    lambda s: Bucket(s.rate_limit_ticket_per_second, s.rate_limit_ticket_burst),
)
_poll_cap = per_student_cap(
    "poll",
    lambda s: Bucket(s.rate_limit_poll_per_second, s.rate_limit_poll_burst),
)


@router.post(
    "/queue/tickets",
    response_model=TicketOut,
    status_code=201,
    dependencies=[_ticket_cap, ChallengePassed],
)
async def take_ticket(student: CurrentStudent, queue: Queue) -> TicketOut:
    """Join the current term's waiting room (or get your ticket again). When the challenge is
    on, a first try is answered 428 CHALLENGE_REQUIRED with a puzzle to solve and send back in
    X-Sugang-Challenge."""
    return await queue.take_ticket(student.user_id)


@router.get("/queue/tickets/{ticket}", response_model=TicketOut, dependencies=[_poll_cap])
async def ticket_state(ticket: str, student: CurrentStudent, queue: Queue) -> TicketOut:
    """Where you are; once admitted, `access_token` is your pass to enroll."""
    return await queue.ticket(ticket, student.user_id)


@router.get("/queue/tickets/{ticket}/events")
async def ticket_events(
    ticket: str,
    request: Request,
    student: CurrentStudent,
    queue: Queue,
    settings: SettingsDep,
    revocations: RevocationsDep,
) -> StreamingResponse:
    """The same as GET, as server-sent events every second until admitted (then it ends).
    At most SUGANG_MAX_STREAMS_PER_STUDENT open at once per student (429 TOO_MANY_STREAMS)."""
    limit = settings.max_streams_per_student
    slots = _slots.setdefault(limit, StreamSlots(limit))
    if slots.full(student.user_id):
        raise TooManyStreams(limit=limit)
    first = await queue.ticket(ticket, student.user_id)

    async def events() -> AsyncIterator[str]:
        # The slot is taken once the stream runs (a response never sent holds none).
        if not slots.take(student.user_id):
            refusal = TooManyStreams(limit=limit)
            yield f"event: error\ndata: {json.dumps(refusal.to_body('en'))}\n\n"
            return
        view = first
        try:
            for _ in range(SSE_SECONDS):
                yield f"event: place\ndata: {view.model_dump_json()}\n\n"
                if view.admitted or await request.is_disconnected():
                    return
                await asyncio.sleep(1)
                if not await revocations.is_current(student.user_id, student.token_version):
                    revoked = NotAuthenticated().to_body("en")  # while the page streamed
                    yield f"event: error\ndata: {json.dumps(revoked)}\n\n"
                    return
                try:
                    view = await queue.ticket(ticket, student.user_id)
                except SugangError as refusal:
                    yield f"event: error\ndata: {json.dumps(refusal.to_body('en'))}\n\n"
                    return
        finally:
            slots.give_back(student.user_id)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
