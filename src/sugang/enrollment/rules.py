"""The registration rules as pure functions: why a request is refused, without a database.

This module answers "why was I refused?". Each check returns the refusal (a SugangError the
service raises) or None; `check_enroll`, `check_drop` and `check_seats` are what the enroll
and drop paths ask, in the order a student would want to hear the reasons. The service loads
the facts, asks here, and only then claims the seat; the seat itself is guarded by the
database statement (sugang.enrollment.seats), not by these checks.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sugang.catalog.facts import SectionInfo, TermInfo
from sugang.errors import (
    AdmissionExpired,
    AdmissionNotYours,
    AdmissionRequired,
    AlreadyEnrolled,
    AlreadyInBasket,
    BasketClosed,
    CreditLimit,
    PrerequisiteMissing,
    SectionClosed,
    SectionFull,
    SugangError,
    TimeConflict,
    WindowClosed,
)
from sugang.waitingroom.room import Admission


@dataclass(frozen=True)
class StudentInfo:
    id: int
    year: int
    max_credits: int
    version: int = 0  # of the student's state these facts were read at


def check_window(term: TermInfo, year: int, now: datetime) -> SugangError | None:
    """Enroll and drop are allowed in the student's year-group window or in add/drop."""
    if term.add_drop.is_open(now):
        return None
    mine = [w for w in term.enrollment_windows if w.admits(year)]
    if any(w.is_open(now) for w in mine):
        return None
    upcoming = sorted(w.opens_at for w in [*mine, term.add_drop] if w.opens_at > now)
    return WindowClosed(year=year, next_opens_at=upcoming[0].isoformat() if upcoming else None)


def check_admission(
    term: TermInfo, student_id: int, admission: Admission | None, now: datetime
) -> SugangError | None:
    """In rush mode, only students the waiting room admitted may enroll or drop."""
    if not term.rush_mode:
        return None
    if admission is None:
        return AdmissionRequired(term_id=term.id)
    if admission.student_id != student_id or admission.term_id != term.id:
        return AdmissionNotYours(term_id=term.id)
    if admission.expires_at <= now:
        return AdmissionExpired(term_id=term.id)
    if admission.generation < term.room_generation:  # the room was reset since
        return AdmissionExpired(term_id=term.id, reason="room_reset")
    return None


def check_basket_window(term: TermInfo, now: datetime) -> SugangError | None:
    if term.basket.is_open(now):
        return None
    return BasketClosed(
        opens_at=term.basket.opens_at.isoformat(), closes_at=term.basket.closes_at.isoformat()
    )


def check_section_open(section: SectionInfo) -> SugangError | None:
    return None if section.status == "open" else SectionClosed(section_id=section.id)


def check_not_enrolled_in_course(
    held: Sequence[SectionInfo], section: SectionInfo
) -> SugangError | None:
    for other in held:
        if other.course_id == section.course_id:
            return AlreadyEnrolled(course_code=section.course_code, enrolled_section_id=other.id)
    return None


def check_time_conflict(held: Sequence[SectionInfo], section: SectionInfo) -> SugangError | None:
    for other in held:
        for mine in other.slots:
            for new in section.slots:
                if mine.overlaps(new):
                    return TimeConflict(
                        conflicting_section_id=other.id,
                        conflicting_course_code=other.course_code,
                        conflicting_slot=mine.label(),
                        requested_slot=new.label(),
                    )
    return None


def check_credit_limit(
    held: Sequence[SectionInfo], section: SectionInfo, max_credits: int
) -> SugangError | None:
    current = sum(s.credits for s in held)
    would_have = current + section.credits
    if would_have <= max_credits:
        return None
    return CreditLimit(
        limit=max_credits,
        current=current,
        requested=section.credits,
        would_have=would_have,
        over_by=would_have - max_credits,
    )


def check_prerequisites(section: SectionInfo, completed: Iterable[int]) -> SugangError | None:
    missing = sorted(code for cid, code in section.prerequisites.items() if cid not in completed)
    if not missing:
        return None
    return PrerequisiteMissing(missing=missing, missing_text=", ".join(missing))


def check_rules(
    student: StudentInfo,
    term: TermInfo,
    section: SectionInfo,
    held: Sequence[SectionInfo],
    completed: Iterable[int],
    now: datetime,
    *,
    enforce_window: bool = True,
) -> SugangError | None:
    """Every rule but the seat, in the order a student would want to hear about them."""
    if enforce_window and (refusal := check_window(term, student.year, now)):
        return refusal
    return (
        check_section_open(section)
        or check_not_enrolled_in_course(held, section)
        or check_time_conflict(held, section)
        or check_credit_limit(held, section, student.max_credits)
        or check_prerequisites(section, frozenset(completed))
    )


def check_basket_add(
    student: StudentInfo,
    term: TermInfo,
    section: SectionInfo,
    basket: Sequence[SectionInfo],
    now: datetime,
) -> SugangError | None:
    """The basket takes one section per course, without clashes, within the credit limit."""
    refusal = check_basket_window(term, now) or check_section_open(section)
    if refusal is not None:
        return refusal
    for other in basket:
        if other.course_id == section.course_id:
            return AlreadyInBasket(course_code=section.course_code, section_id=other.id)
    return check_time_conflict(basket, section) or check_credit_limit(
        basket, section, student.max_credits
    )


def check_enroll(
    student: StudentInfo,
    term: TermInfo,
    section: SectionInfo,
    held: Sequence[SectionInfo],
    completed: Iterable[int],
    admission: Admission | None,
    now: datetime,
    *,
    enforce_window: bool = True,
) -> SugangError | None:
    """Everything but the seat: the waiting room's pass, then every rule. The registrar's own
    paths (auto-enrollment) pass `enforce_window=False`, which skips the window and the
    waiting room alike."""
    if enforce_window and (refusal := check_admission(term, student.id, admission, now)):
        return refusal
    return check_rules(student, term, section, held, completed, now, enforce_window=enforce_window)


def check_drop(
    student: StudentInfo, term: TermInfo, admission: Admission | None, now: datetime
) -> SugangError | None:
    """A drop needs the waiting room's pass in rush mode and an open window."""
    return check_admission(term, student.id, admission, now) or check_window(
        term, student.year, now
    )


def check_seats(section_id: int, status: str, capacity: int, enrolled: int) -> SugangError | None:
    """Whether a claim that found no seat was refused for a closed or a full section (None:
    a seat was freed after the claim looked, so claim again)."""
    if status != "open":
        return SectionClosed(section_id=section_id)
    if enrolled >= capacity:
        return section_full(section_id, capacity)
    return None


def section_full(section_id: int, capacity: int) -> SectionFull:
    return SectionFull(section_id=section_id, capacity=capacity)
