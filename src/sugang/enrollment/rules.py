"""The registration rules as pure functions: why a request is refused, without a database.

Each check returns the refusal (a SugangError to raise) or None. The service loads the facts,
calls `check_enrollment` inside the transaction that holds the student's lock, and only then
claims the seat; the seat itself is guarded by the database statement, not by these checks.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
    SugangError,
    TimeConflict,
    WindowClosed,
)

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Slot:
    """A weekly meeting: day 0 = Monday, minutes from midnight, half-open [start, end)."""

    day: int
    start_minute: int
    end_minute: int
    room: str = ""

    def overlaps(self, other: "Slot") -> bool:
        return (
            self.day == other.day
            and self.start_minute < other.end_minute
            and other.start_minute < self.end_minute
        )

    def label(self) -> str:
        return (
            f"{DAY_NAMES[self.day]} {self.start_minute // 60:02d}:{self.start_minute % 60:02d}"
            f"-{self.end_minute // 60:02d}:{self.end_minute % 60:02d}"
        )


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime
    year_group: int | None = None  # None: every year group

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def admits(self, year: int) -> bool:
        return self.year_group is None or self.year_group == year


@dataclass(frozen=True)
class TermInfo:
    id: int
    code: str
    basket: Window
    add_drop: Window
    enrollment_windows: tuple[Window, ...] = ()
    rush_mode: bool = False


@dataclass(frozen=True)
class Admission:
    """What a verified X-Admission-Token says: this student may act in this term until then."""

    student_id: int
    term_id: int
    expires_at: datetime


@dataclass(frozen=True)
class SectionInfo:
    id: int
    term_id: int
    course_id: int
    course_code: str
    credits: int
    number: int = 1
    status: str = "open"
    slots: tuple[Slot, ...] = ()
    prerequisites: dict[int, str] = field(default_factory=dict)  # course id -> code


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


def check_enrollment(
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
