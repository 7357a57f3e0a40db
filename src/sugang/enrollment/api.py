"""Student endpoints: enroll, drop, my enrollments and timetable, and the basket."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from sugang.auth.deps import CurrentStudent
from sugang.enrollment.deps import Enrollment
from sugang.enrollment.schemas import (
    Basket,
    BasketRequest,
    EnrollOut,
    EnrollRequest,
    MyEnrollments,
    Timetable,
)
from sugang.errors import InvalidRequest
from sugang.http.deps import MAX_ID, Language, SectionIdPath
from sugang.http.idempotency import IdempotencyKey, idempotent_request, respond
from sugang.waitingroom.deps import AdmissionPass

router = APIRouter(prefix="/api/v1", tags=["enrollment"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "WINDOW_CLOSED, or not a student"},
    404: {"description": "NOT_FOUND (no such section)"},
    409: {"description": "SECTION_FULL, SECTION_CLOSED, ALREADY_ENROLLED, TIME_CONFLICT, ..."},
    422: {"description": "CREDIT_LIMIT, PREREQUISITE_MISSING, INVALID_REQUEST"},
}

TermQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


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
    enrollment: Enrollment,
    idempotency_key: IdempotencyKey,
    admission: AdmissionPass,
    language: Language,
) -> Response:
    """Enroll in a section: 201 enrolled, 202 waitlisted (with `waitlist: true`), or a refusal
    with its `code`. In rush mode, send the waiting room's pass as X-Admission-Token."""
    verified = admission.verify()
    once = idempotent_request(
        idempotency_key, student.user_id, language, "POST", request.url.path, body.model_dump()
    )
    outcome = await enrollment.enroll(
        student.user_id, body.section_id, waitlist=body.waitlist, admission=verified, once=once
    )
    return respond(outcome)


@router.delete("/enrollments/{section_id}", status_code=204, responses=_REFUSALS)
async def drop(
    section_id: SectionIdPath,
    request: Request,
    student: CurrentStudent,
    enrollment: Enrollment,
    idempotency_key: IdempotencyKey,
    admission: AdmissionPass,
    language: Language,
) -> Response:
    """Drop the section (its seat goes to the head of the waitlist) or leave its waitlist."""
    verified = admission.verify()
    once = idempotent_request(
        idempotency_key, student.user_id, language, "DELETE", request.url.path
    )
    outcome = await enrollment.drop(student.user_id, section_id, admission=verified, once=once)
    return respond(outcome)


@router.get("/me/enrollments", response_model=MyEnrollments)
async def my_enrollments(
    student: CurrentStudent, enrollment: Enrollment, term_id: TermQuery = None
) -> MyEnrollments:
    return await enrollment.my_enrollments(student.user_id, term_id)


@router.get("/me/timetable", response_model=Timetable)
async def my_timetable(
    student: CurrentStudent, enrollment: Enrollment, term_id: TermQuery = None
) -> Timetable:
    """The week: one entry per meeting of every enrolled section, by day and start time."""
    return await enrollment.timetable(student.user_id, term_id)


@router.get("/basket", response_model=Basket)
async def get_basket(
    student: CurrentStudent, enrollment: Enrollment, term_id: TermQuery = None
) -> Basket:
    return await enrollment.basket(student.user_id, term_id)


@router.post("/basket", status_code=201, response_model=Basket, responses=_REFUSALS)
async def add_to_basket(
    body: BasketRequest, student: CurrentStudent, enrollment: Enrollment
) -> Basket:
    """Put a section in the basket (during the basket period)."""
    return await enrollment.add_to_basket(student.user_id, body.section_id)


@router.delete("/basket/{section_id}", status_code=204, responses=_REFUSALS)
async def remove_from_basket(
    section_id: SectionIdPath, student: CurrentStudent, enrollment: Enrollment
) -> Response:
    await enrollment.remove_from_basket(student.user_id, section_id)
    return Response(status_code=204)


@router.delete("/basket", status_code=204, responses=_REFUSALS)
async def remove_from_basket_by_query(
    student: CurrentStudent,
    enrollment: Enrollment,
    section_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The same as DELETE /basket/{section_id}, for clients that send the id as a query."""
    if section_id is None:
        raise InvalidRequest(reason="section_id is required")
    return await remove_from_basket(section_id, student, enrollment)
