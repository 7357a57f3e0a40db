"""Writes to the catalog, inside the caller's transaction. Every change to what the rules
read moves the catalog version (see sugang.catalog.cache)."""

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sugang.auth.models import User
from sugang.catalog.cache import bump_catalog_version
from sugang.catalog.models import (
    Course,
    Department,
    EnrollmentWindow,
    MeetingTime,
    Section,
    Term,
    course_prerequisites,
)
from sugang.catalog.schemas import (
    CourseIn,
    CoursePatch,
    DepartmentIn,
    MeetingTimeIn,
    SectionIn,
    SectionPatch,
    TermIn,
    TermPatch,
    WindowIn,
)
from sugang.errors import CapacityBelowEnrolled, Conflict, NotFound, SectionHasEnrollments


def _session(conn: AsyncConnection) -> AsyncSession:
    return AsyncSession(bind=conn, expire_on_commit=False, autoflush=False)


def _copy_given(patch: BaseModel, row: object, names: tuple[str, ...]) -> None:
    """Set each of `names` that the patch gives (not None) on the row."""
    for name in names:
        if (value := getattr(patch, name)) is not None:
            setattr(row, name, value)


# --- terms ------------------------------------------------------------------------------


async def create_term(conn: AsyncConnection, data: TermIn) -> int:
    if await conn.scalar(select(Term.id).where(Term.code == data.code)) is not None:
        raise Conflict(
            reason=f"term {data.code!r} exists", reason_ko=f"이미 있는 학기입니다: {data.code}"
        )
    session = _session(conn)
    term = Term(
        code=data.code,
        name_ko=data.name_ko,
        name_en=data.name_en,
        is_current=data.is_current,
        basket_opens_at=data.basket.opens_at,
        basket_closes_at=data.basket.closes_at,
        add_drop_opens_at=data.add_drop.opens_at,
        add_drop_closes_at=data.add_drop.closes_at,
        windows=_windows(data.enrollment_windows),
    )
    session.add(term)
    await session.flush()
    if data.is_current:
        await _make_only_current(conn, term.id)
    await bump_catalog_version(conn)
    return term.id


async def update_term(conn: AsyncConnection, term_id: int, patch: TermPatch) -> None:
    session = _session(conn)
    term = await session.get(Term, term_id)
    if term is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    _copy_given(patch, term, ("name_ko", "name_en", "is_current"))
    if patch.basket is not None:
        term.basket_opens_at, term.basket_closes_at = patch.basket.opens_at, patch.basket.closes_at
    if patch.add_drop is not None:
        term.add_drop_opens_at = patch.add_drop.opens_at
        term.add_drop_closes_at = patch.add_drop.closes_at
    if patch.enrollment_windows is not None:
        term.windows = _windows(patch.enrollment_windows)
    await session.flush()
    if patch.is_current:
        await _make_only_current(conn, term_id)
    await bump_catalog_version(conn)


async def delete_term(conn: AsyncConnection, term_id: int) -> None:
    """Delete a term with everything in it (the caller has checked it has no enrollments)."""
    result = await conn.execute(delete(Term).where(Term.id == term_id).returning(Term.id))
    if result.first() is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    await bump_catalog_version(conn)


def _windows(windows: Sequence[WindowIn]) -> list[EnrollmentWindow]:
    return [
        EnrollmentWindow(year_group=w.year_group, opens_at=w.opens_at, closes_at=w.closes_at)
        for w in windows
    ]


async def _make_only_current(conn: AsyncConnection, term_id: int) -> None:
    await conn.execute(update(Term).where(Term.id != term_id).values(is_current=False))


# --- departments and courses ------------------------------------------------------------


async def create_department(conn: AsyncConnection, data: DepartmentIn) -> int:
    if await conn.scalar(select(Department.id).where(Department.code == data.code)) is not None:
        raise Conflict(
            reason=f"department {data.code!r} exists",
            reason_ko=f"이미 있는 학과입니다: {data.code}",
        )
    department_id = await conn.scalar(
        insert(Department).values(**data.model_dump()).returning(Department.id)
    )
    assert department_id is not None
    return int(department_id)


async def department_id_of(conn: AsyncConnection, code: str) -> int:
    department_id = await conn.scalar(select(Department.id).where(Department.code == code))
    if department_id is None:
        raise NotFound(what=f"department {code}", what_ko=f"학과 {code}")
    return department_id


async def _courses_by_code(session: AsyncSession, codes: Sequence[str]) -> list[Course]:
    found = list((await session.scalars(select(Course).where(Course.code.in_(codes)))).all())
    missing = sorted(set(codes) - {c.code for c in found})
    if missing:
        raise NotFound(what=f"course(s) {', '.join(missing)}", what_ko=f"과목 {', '.join(missing)}")
    return found


async def create_course(conn: AsyncConnection, data: CourseIn) -> int:
    session = _session(conn)
    if await session.scalar(select(Course.id).where(Course.code == data.code)) is not None:
        raise Conflict(
            reason=f"course {data.code!r} exists", reason_ko=f"이미 있는 과목입니다: {data.code}"
        )
    course = Course(
        code=data.code,
        title_ko=data.title_ko,
        title_en=data.title_en,
        credits=data.credits,
        department_id=await department_id_of(conn, data.department_code),
    )
    session.add(course)
    await session.flush()
    await _set_prerequisites(conn, session, course.id, data.prerequisite_codes)
    await bump_catalog_version(conn)
    return course.id


async def update_course(conn: AsyncConnection, course_id: int, patch: CoursePatch) -> None:
    session = _session(conn)
    course = await session.get(Course, course_id)
    if course is None:
        raise NotFound(what="course", what_ko="과목", course_id=course_id)
    _copy_given(patch, course, ("title_ko", "title_en", "credits"))
    if patch.department_code is not None:
        course.department_id = await department_id_of(conn, patch.department_code)
    if patch.prerequisite_codes is not None and course.code in patch.prerequisite_codes:
        raise Conflict(
            reason="a course cannot require itself",
            reason_ko="자기 자신을 선수과목으로 둘 수 없습니다",
        )
    await session.flush()
    if patch.prerequisite_codes is not None:
        await _set_prerequisites(conn, session, course_id, patch.prerequisite_codes)
    await bump_catalog_version(conn)


async def _set_prerequisites(
    conn: AsyncConnection, session: AsyncSession, course_id: int, codes: Sequence[str]
) -> None:
    required = await _courses_by_code(session, codes)
    await conn.execute(
        delete(course_prerequisites).where(course_prerequisites.c.course_id == course_id)
    )
    if required:
        await conn.execute(
            insert(course_prerequisites),
            [{"course_id": course_id, "prerequisite_id": c.id} for c in required],
        )


async def delete_course(conn: AsyncConnection, course_id: int) -> None:
    if await conn.scalar(select(func.count()).where(Section.course_id == course_id)):
        raise Conflict(
            reason="the course has sections; delete them first",
            reason_ko="분반이 있는 과목은 삭제할 수 없습니다",
        )
    result = await conn.execute(delete(Course).where(Course.id == course_id).returning(Course.id))
    if result.first() is None:
        raise NotFound(what="course", what_ko="과목", course_id=course_id)
    await bump_catalog_version(conn)


# --- sections ---------------------------------------------------------------------------


async def create_section(conn: AsyncConnection, data: SectionIn) -> int:
    session = _session(conn)
    if await session.get(Term, data.term_id) is None:
        raise NotFound(what="term", what_ko="학기", term_id=data.term_id)
    (course,) = await _courses_by_code(session, [data.course_code])
    duplicate = await session.scalar(
        select(Section.id).where(
            Section.term_id == data.term_id,
            Section.course_id == course.id,
            Section.number == data.number,
        )
    )
    if duplicate is not None:
        raise Conflict(
            reason=f"{data.course_code} section {data.number} exists in this term",
            reason_ko=f"{data.course_code} {data.number}분반이 이미 있습니다",
        )
    section = Section(
        term_id=data.term_id,
        course_id=course.id,
        number=data.number,
        capacity=data.capacity,
        enrolled=0,
        status=data.status,
        instructor_name=data.instructor_name,
        instructor_id=await _instructor_id(conn, data.instructor_username),
        meeting_times=_meetings(data.meeting_times),
    )
    session.add(section)
    await session.flush()
    await bump_catalog_version(conn)
    return section.id


async def update_section(conn: AsyncConnection, section_id: int, patch: SectionPatch) -> None:
    """Edit a section, its row locked: capacity is judged against `enrolled`, which claims
    change. (More seats or a reopening hand seats to the waitlist: the caller's to do, in
    the same transaction.)"""
    await conn.execute(select(Section.id).where(Section.id == section_id).with_for_update())
    session = _session(conn)
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound(what="section", what_ko="분반", section_id=section_id)
    if patch.capacity is not None:
        if patch.capacity < section.enrolled:
            raise CapacityBelowEnrolled(enrolled=section.enrolled, capacity=patch.capacity)
        section.capacity = patch.capacity
    _copy_given(patch, section, ("status", "instructor_name"))
    if patch.instructor_username is not None:
        section.instructor_id = await _instructor_id(conn, patch.instructor_username or None)
    if patch.meeting_times is not None:
        section.meeting_times = _meetings(patch.meeting_times)
    await session.flush()
    if patch.status is not None or patch.meeting_times is not None:
        # What the rules cache changed. Capacity is not cached (the claim reads it live), so
        # raising seats in the middle of the rush does not flush every worker's cache.
        await bump_catalog_version(conn)


async def delete_section(conn: AsyncConnection, section_id: int) -> None:
    enrolled = await conn.scalar(
        select(Section.enrolled).where(Section.id == section_id).with_for_update()
    )
    if enrolled is None:
        raise NotFound(what="section", what_ko="분반", section_id=section_id)
    if enrolled > 0:
        raise SectionHasEnrollments(enrolled=enrolled)
    # Its waitlist, basket entries and meeting times go with it (ON DELETE CASCADE).
    await conn.execute(delete(Section).where(Section.id == section_id))
    await bump_catalog_version(conn)


def _meetings(meetings: Sequence[MeetingTimeIn]) -> list[MeetingTime]:
    return [
        MeetingTime(day=m.day, start_minute=m.start, end_minute=m.end, room=m.room)
        for m in meetings
    ]


async def next_room_generation(conn: AsyncConnection, term_id: int) -> None:
    """A reset of the term's waiting room: the passes issued before admit no more."""
    await conn.execute(
        update(Term).where(Term.id == term_id).values(room_generation=Term.room_generation + 1)
    )
    await bump_catalog_version(conn)  # the rules read the generation from the catalog cache


async def set_rush_mode(conn: AsyncConnection, term_id: int, on: bool) -> None:
    await conn.execute(update(Term).where(Term.id == term_id).values(rush_mode=on))
    await bump_catalog_version(conn)  # the rules read rush_mode from the catalog cache


async def _instructor_id(conn: AsyncConnection, username: str | None) -> int | None:
    if not username:
        return None
    user_id = await conn.scalar(
        select(User.id).where(User.username == username, User.role.in_(("professor", "admin")))
    )
    if user_id is None:
        raise NotFound(what=f"professor {username}", what_ko=f"교수 {username}")
    return user_id
