"""Student endpoints: enroll, drop, my enrollments and timetable, and the basket."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog import reads
from sugang.catalog.schemas import SectionOut
from sugang.deps import MAX_ID, CurrentStudent, Language, SectionIdPath, ServicesDep
from sugang.enrollment import basket
from sugang.enrollment.schemas import (
    Basket,
    BasketRequest,
    EnrollOut,
    EnrollRequest,
    MyEnrollments,
    Timetable,
    TimetableSlot,
    WaitlistedSection,
)
from sugang.enrollment.service import Enrolled, Waitlisted
from sugang.errors import InvalidRequest, SectionFull, SugangError
from sugang.idempotency import IdempotencyKey, Outcome, fingerprint, run_idempotent
from sugang.observability.metrics import ENROLLMENT_ATTEMPTS, FAST_REFUSALS
from sugang.waitingroom.api import AdmissionToken, admission_from

router = APIRouter(prefix="/api/v1", tags=["enrollment"])

_OUTCOMES = {201: "enrolled", 202: "waitlisted"}

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "WINDOW_CLOSED, or not a student"},
    404: {"description": "NOT_FOUND (no such section)"},
    409: {"description": "SECTION_FULL, SECTION_CLOSED, ALREADY_ENROLLED, TIME_CONFLICT, ..."},
    422: {"description": "CREDIT_LIMIT, PREREQUISITE_MISSING, INVALID_REQUEST"},
}


@router.post(
    "/enrollments",
    status_code=201,
    response_model=EnrollOut,
    responses={202: {"model": EnrollOut, "description": "waitlisted"}, **_REFUSALS},
)
async def enroll(
    body: EnrollRequest,
    request: Request,
    student: CurrentStudent,
    services: ServicesDep,
    language: Language,
    idempotency_key: IdempotencyKey = None,
    admission_token: AdmissionToken = None,
) -> Response:
    """Enroll in a section: 201 enrolled, 202 waitlisted (with `waitlist: true`), or a refusal
    with its `code`. In rush mode, send the waiting room's pass as X-Admission-Token."""
    admission = admission_from(admission_token, services)
    if (
        not body.waitlist
        and (capacity := await services.full_sections.capacity_if_full(body.section_id)) is not None
    ):
        FAST_REFUSALS.inc()
        ENROLLMENT_ATTEMPTS.labels(SectionFull.code).inc()
        raise SectionFull(section_id=body.section_id, capacity=capacity)

    async def work(conn: AsyncConnection) -> Outcome:
        outcome = await services.enrollment.enroll(
            conn,
            student.user_id,
            body.section_id,
            waitlist=body.waitlist,
            actor_id=student.user_id,
            admission=admission,
        )
        return _enroll_outcome(outcome)

    try:
        if idempotency_key is None and not body.waitlist:
            # The rush's path: no record to keep with the claim, so no transaction held open.
            enrolled = await services.enrollment.enroll_optimistically(
                services.db,
                student.user_id,
                body.section_id,
                actor_id=student.user_id,
                admission=admission,
            )
            outcome = _enroll_outcome(enrolled)
        else:
            outcome = await run_idempotent(
                services.db,
                services.clock,
                user_id=student.user_id,
                key=idempotency_key,
                request_fingerprint=fingerprint("POST", request.url.path, body.model_dump()),
                language=language,
                work=work,
            )
    except SugangError as refusal:
        ENROLLMENT_ATTEMPTS.labels(refusal.code).inc()
        if isinstance(refusal, SectionFull):
            await services.full_sections.mark_full(body.section_id, refusal.detail["capacity"])
        raise
    ENROLLMENT_ATTEMPTS.labels(_OUTCOMES.get(outcome.status) or outcome.body["code"]).inc()
    return outcome.response()


def _enroll_outcome(outcome: Enrolled | Waitlisted) -> Outcome:
    if isinstance(outcome, Enrolled):
        out = EnrollOut(
            status="enrolled", section_id=outcome.section_id, enrollment_id=outcome.enrollment_id
        )
        return Outcome(201, out.model_dump())
    out = EnrollOut(status="waitlisted", section_id=outcome.section_id, position=outcome.position)
    return Outcome(202, out.model_dump())


@router.delete("/enrollments/{section_id}", status_code=204, responses=_REFUSALS)
async def drop(
    section_id: SectionIdPath,
    request: Request,
    student: CurrentStudent,
    services: ServicesDep,
    language: Language,
    idempotency_key: IdempotencyKey = None,
    admission_token: AdmissionToken = None,
) -> Response:
    """Drop the section (its seat goes to the head of the waitlist) or leave its waitlist."""
    admission = admission_from(admission_token, services)

    async def work(conn: AsyncConnection) -> Outcome:
        await services.enrollment.drop(
            conn, student.user_id, section_id, actor_id=student.user_id, admission=admission
        )
        return Outcome(204)

    outcome = await run_idempotent(
        services.db,
        services.clock,
        user_id=student.user_id,
        key=idempotency_key,
        request_fingerprint=fingerprint("DELETE", request.url.path),
        language=language,
        work=work,
    )
    await services.full_sections.clear(section_id)  # committed: a seat may be free again
    return outcome.response()


_MY_SECTIONS = text(
    "SELECT section_id FROM enrollments WHERE student_id = :student_id AND term_id = :term_id"
    " ORDER BY created_at"
)
_MY_WAITLIST = text(
    """
    SELECT w.section_id,
           (SELECT count(*) FROM waitlist_entries o
            WHERE o.section_id = w.section_id AND o.id <= w.id) AS position
    FROM waitlist_entries w JOIN sections s ON s.id = w.section_id
    WHERE w.student_id = :student_id AND s.term_id = :term_id
    ORDER BY w.id
    """
)
_MAX_CREDITS = text("SELECT max_credits FROM students WHERE id = :student_id")

TermQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


async def _my_sections(
    conn: AsyncConnection, student_id: int, term_id: int | None
) -> tuple[int, list[SectionOut]]:
    """The term asked for (else the current one) and the student's sections in it."""
    term_id = term_id or await reads.current_term_id(conn)
    rows = await conn.execute(_MY_SECTIONS, {"student_id": student_id, "term_id": term_id})
    return term_id, await reads.section_views(conn, [r.section_id for r in rows])


@router.get("/me/enrollments", response_model=MyEnrollments)
async def my_enrollments(
    student: CurrentStudent, services: ServicesDep, term_id: TermQuery = None
) -> MyEnrollments:
    async with services.db.transaction(write=False) as conn:
        term_id, sections = await _my_sections(conn, student.user_id, term_id)
        params = {"student_id": student.user_id, "term_id": term_id}
        waitlist = (await conn.execute(_MY_WAITLIST, params)).all()
        waiting = {
            s.id: s for s in await reads.section_views(conn, [w.section_id for w in waitlist])
        }
        max_credits = await conn.scalar(_MAX_CREDITS, {"student_id": student.user_id})
    return MyEnrollments(
        term_id=term_id,
        credits=sum(s.credits for s in sections),
        max_credits=max_credits or 0,
        enrollments=sections,
        waitlist=[
            WaitlistedSection(section=waiting[w.section_id], position=w.position)
            for w in waitlist
            if w.section_id in waiting
        ],
    )


@router.get("/me/timetable", response_model=Timetable)
async def my_timetable(
    student: CurrentStudent, services: ServicesDep, term_id: TermQuery = None
) -> Timetable:
    """The week: one entry per meeting of every enrolled section, by day and start time."""
    async with services.db.transaction(write=False) as conn:
        term_id, sections = await _my_sections(conn, student.user_id, term_id)
    slots = [
        TimetableSlot(
            **m.model_dump(),
            section_id=s.id,
            course_code=s.course_code,
            title_ko=s.title_ko,
            title_en=s.title_en,
        )
        for s in sections
        for m in s.meeting_times
    ]
    slots.sort(key=lambda slot: (slot.day, slot.start))
    return Timetable(term_id=term_id, credits=sum(s.credits for s in sections), slots=slots)


@router.get("/basket", response_model=Basket)
async def get_basket(
    student: CurrentStudent, services: ServicesDep, term_id: TermQuery = None
) -> Basket:
    async with services.db.transaction(write=False) as conn:
        term_id = term_id or await reads.current_term_id(conn)
        ids = await basket.basket_section_ids(conn, student.user_id, term_id)
        sections = await reads.section_views(conn, ids)
    return Basket(term_id=term_id, credits=sum(s.credits for s in sections), sections=sections)


@router.post("/basket", status_code=201, response_model=Basket, responses=_REFUSALS)
async def add_to_basket(
    body: BasketRequest, student: CurrentStudent, services: ServicesDep
) -> Basket:
    """Put a section in the basket (during the basket period)."""

    async def work(conn: AsyncConnection) -> int:
        await basket.add_to_basket(conn, services.enrollment, student.user_id, body.section_id)
        return (await reads.section_view(conn, body.section_id)).term_id

    term_id = await services.db.run(work)
    return await get_basket(student, services, term_id)


@router.delete("/basket/{section_id}", status_code=204, responses=_REFUSALS)
async def remove_from_basket(
    section_id: SectionIdPath, student: CurrentStudent, services: ServicesDep
) -> Response:
    await services.db.run(lambda conn: basket.remove_from_basket(conn, student.user_id, section_id))
    return Response(status_code=204)


@router.delete("/basket", status_code=204, responses=_REFUSALS)
async def remove_from_basket_by_query(
    student: CurrentStudent,
    services: ServicesDep,
    section_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The same as DELETE /basket/{section_id}, for clients that send the id as a query."""
    if section_id is None:
        raise InvalidRequest(reason="section_id is required")
    return await remove_from_basket(section_id, student, services)
