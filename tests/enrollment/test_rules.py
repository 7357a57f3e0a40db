"""The rules as pure functions: no database, one behaviour per test."""

import dataclasses
from datetime import UTC, datetime, timedelta

from sugang.catalog.facts import SectionInfo, Slot, TermInfo, Window
from sugang.enrollment import rules
from sugang.enrollment.rules import StudentInfo
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
    TimeConflict,
    WindowClosed,
)
from sugang.waitingroom.room import Admission

NOW = datetime(2027, 2, 15, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def term(*windows: Window, add_drop_open: bool = False, basket_open: bool = False) -> TermInfo:
    def around(is_open: bool) -> Window:
        return (
            Window(NOW - HOUR, NOW + HOUR) if is_open else Window(NOW + 9 * HOUR, NOW + 10 * HOUR)
        )

    return TermInfo(
        1,
        "T",
        basket=around(basket_open),
        add_drop=around(add_drop_open),
        enrollment_windows=windows,
    )


def section(
    sid: int = 10,
    course: int = 100,
    *slots: Slot,
    credits: int = 3,
    prerequisites: dict[int, str] | None = None,
    status: str = "open",
) -> SectionInfo:
    return SectionInfo(
        sid,
        1,
        course,
        f"C{course}",
        credits,
        status=status,
        slots=slots,
        prerequisites=prerequisites or {},
    )


MON_9 = Slot(0, 9 * 60, 10 * 60 + 15)
STUDENT = StudentInfo(1, year=3, max_credits=18)
OPEN_FOR_ALL = Window(NOW - HOUR, NOW + HOUR)


def test_slots_overlap_only_on_the_same_day_and_intersecting_minutes() -> None:
    assert MON_9.overlaps(Slot(0, 10 * 60, 11 * 60))
    assert not MON_9.overlaps(Slot(0, 10 * 60 + 15, 11 * 60))  # back to back is fine
    assert not MON_9.overlaps(Slot(1, 9 * 60, 10 * 60))


def test_window_open_for_the_students_year_group() -> None:
    assert rules.check_window(term(Window(NOW - HOUR, NOW + HOUR, year_group=3)), 3, NOW) is None


def test_window_of_another_year_group_refuses_and_names_the_next_opening() -> None:
    fourth_years_now = Window(NOW - HOUR, NOW + HOUR, year_group=4)
    third_years_later = Window(NOW + 2 * HOUR, NOW + 3 * HOUR, year_group=3)
    refusal = rules.check_window(term(fourth_years_now, third_years_later), 3, NOW)
    assert isinstance(refusal, WindowClosed)
    assert refusal.detail["next_opens_at"] == (NOW + 2 * HOUR).isoformat()


def test_window_closes_at_its_closing_instant() -> None:
    window = Window(NOW - HOUR, NOW)
    assert isinstance(rules.check_window(term(window), 3, NOW), WindowClosed)


def test_add_drop_period_admits_every_year() -> None:
    assert rules.check_window(term(add_drop_open=True), 1, NOW) is None


def test_time_conflict_names_the_other_course_and_slot() -> None:
    held = [section(11, 101, MON_9)]
    refusal = rules.check_time_conflict(held, section(10, 100, Slot(0, 10 * 60, 11 * 60)))
    assert isinstance(refusal, TimeConflict)
    assert refusal.detail["conflicting_course_code"] == "C101"
    assert refusal.detail["conflicting_slot"] == "Mon 09:00-10:15"


def test_credit_limit_allows_exactly_the_limit() -> None:
    held = [section(i, 100 + i, credits=3) for i in range(5)]  # 15 credits
    assert rules.check_credit_limit(held, section(9, 200, credits=3), 18) is None


def test_credit_limit_refuses_one_over_and_says_by_how_much() -> None:
    held = [section(i, 100 + i, credits=3) for i in range(5)]
    refusal = rules.check_credit_limit(held, section(9, 200, credits=4), 18)
    assert isinstance(refusal, CreditLimit)
    assert refusal.detail["over_by"] == 1
    assert "19" in refusal.messages()["en"] and "1학점 초과" in refusal.messages()["ko"]


def test_prerequisites_list_every_missing_course() -> None:
    wanted = section(prerequisites={1: "CSE101", 2: "MATH101"})
    refusal = rules.check_prerequisites(wanted, completed={1})
    assert isinstance(refusal, PrerequisiteMissing)
    assert refusal.detail["missing"] == ["MATH101"]


def test_second_section_of_the_same_course_is_already_enrolled() -> None:
    held = [section(11, 100)]
    assert isinstance(rules.check_not_enrolled_in_course(held, section(12, 100)), AlreadyEnrolled)


def test_closed_section_is_refused() -> None:
    assert isinstance(rules.check_section_open(section(status="closed")), SectionClosed)


def test_check_rules_reports_the_window_before_anything_else() -> None:
    refusal = rules.check_rules(STUDENT, term(), section(10, 100), [section(10, 100)], [], NOW)
    assert isinstance(refusal, WindowClosed)


def test_check_rules_without_window_checks_the_rest() -> None:
    refusal = rules.check_rules(
        STUDENT, term(), section(10, 100), [section(10, 100)], [], NOW, enforce_window=False
    )
    assert isinstance(refusal, AlreadyEnrolled)


def test_check_rules_passes_a_clean_request() -> None:
    assert rules.check_rules(STUDENT, term(OPEN_FOR_ALL), section(), [], [], NOW) is None


def rush(term_info: TermInfo) -> TermInfo:
    return dataclasses.replace(term_info, rush_mode=True)


def test_check_enroll_asks_for_the_pass_first_in_rush_mode() -> None:
    closed_window = rush(term())
    refusal = rules.check_enroll(STUDENT, closed_window, section(), [], [], None, NOW)
    assert isinstance(refusal, AdmissionRequired)


def test_check_enroll_refuses_someone_elses_pass_and_an_expired_one() -> None:
    in_rush = rush(term(OPEN_FOR_ALL))
    theirs = Admission(student_id=2, term_id=1, expires_at=NOW + HOUR)
    expired = Admission(student_id=1, term_id=1, expires_at=NOW)
    assert isinstance(
        rules.check_enroll(STUDENT, in_rush, section(), [], [], theirs, NOW), AdmissionNotYours
    )
    assert isinstance(
        rules.check_enroll(STUDENT, in_rush, section(), [], [], expired, NOW), AdmissionExpired
    )


def test_check_enroll_with_a_good_pass_judges_the_rules() -> None:
    in_rush = rush(term(OPEN_FOR_ALL))
    mine = Admission(student_id=1, term_id=1, expires_at=NOW + HOUR)
    assert rules.check_enroll(STUDENT, in_rush, section(), [], [], mine, NOW) is None
    held = [section(11, 100)]
    refusal = rules.check_enroll(STUDENT, in_rush, section(12, 100), held, [], mine, NOW)
    assert isinstance(refusal, AlreadyEnrolled)


def test_the_registrars_own_enroll_skips_the_pass_and_the_window() -> None:
    refusal = rules.check_enroll(
        STUDENT, rush(term()), section(), [], [], None, NOW, enforce_window=False
    )
    assert refusal is None


def test_check_drop_needs_the_pass_then_the_window() -> None:
    assert isinstance(rules.check_drop(STUDENT, rush(term()), None, NOW), AdmissionRequired)
    assert isinstance(rules.check_drop(STUDENT, term(), None, NOW), WindowClosed)
    assert rules.check_drop(STUDENT, term(add_drop_open=True), None, NOW) is None


def test_check_seats_tells_closed_from_full_from_a_seat_freed_meanwhile() -> None:
    assert isinstance(rules.check_seats(10, "closed", 30, 0), SectionClosed)
    full = rules.check_seats(10, "open", 30, 30)
    assert isinstance(full, SectionFull) and full.detail["capacity"] == 30
    assert rules.check_seats(10, "open", 30, 29) is None


def test_basket_refuses_outside_the_basket_period() -> None:
    refusal = rules.check_basket_add(STUDENT, term(), section(), [], NOW)
    assert isinstance(refusal, BasketClosed)


def test_basket_takes_one_section_per_course() -> None:
    refusal = rules.check_basket_add(
        STUDENT, term(basket_open=True), section(12, 100), [section(11, 100)], NOW
    )
    assert isinstance(refusal, AlreadyInBasket)


def test_basket_refuses_a_clash() -> None:
    refusal = rules.check_basket_add(
        STUDENT, term(basket_open=True), section(12, 101, MON_9), [section(11, 100, MON_9)], NOW
    )
    assert isinstance(refusal, TimeConflict)
