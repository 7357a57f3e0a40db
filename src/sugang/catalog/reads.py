"""Read models for sections and terms: one query per page plus one for meeting times."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

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
    MeetingTimeOut,
    SectionOut,
    SectionPage,
    TermOut,
    WindowOut,
    hhmm_of,
)
from sugang.enrollment.models import WaitlistEntry
from sugang.enrollment.rules import DAY_NAMES
from sugang.errors import NotFound

_waitlist_length = (
    select(func.count())
    .where(WaitlistEntry.section_id == Section.id)
    .correlate(Section)
    .scalar_subquery()
    .label("waitlist_length")
)

_SECTION_COLUMNS = (
    Section.id,
    Section.term_id,
    Section.course_id,
    Course.code.label("course_code"),
    Course.title_ko,
    Course.title_en,
    Course.credits,
    Department.code.label("department_code"),
    Section.number,
    Section.instructor_name,
    Section.instructor_id,
    Section.capacity,
    Section.enrolled,
    Section.status,
    _waitlist_length,
)


def _sections_query() -> Select[Any]:
    return (
        select(*_SECTION_COLUMNS)
        .join(Course, Course.id == Section.course_id)
        .join(Department, Department.id == Course.department_id)
    )


async def section_views(conn: AsyncConnection, section_ids: Sequence[int]) -> list[SectionOut]:
    """Sections by id, in the order asked."""
    if not section_ids:
        return []
    rows = (await conn.execute(_sections_query().where(Section.id.in_(section_ids)))).all()
    views = {v.id: v for v in await _with_details(conn, rows)}
    return [views[i] for i in section_ids if i in views]


async def section_view(conn: AsyncConnection, section_id: int) -> SectionOut:
    found = await section_views(conn, [section_id])
    if not found:
        raise NotFound(what="section", what_ko="분반", section_id=section_id)
    return found[0]


async def search_sections(
    conn: AsyncConnection,
    *,
    term_id: int,
    q: str | None,
    department: str | None,
    instructor_id: int | None = None,
    has_seats: bool = False,
    page: int,
    page_size: int,
) -> SectionPage:
    query = _sections_query().where(Section.term_id == term_id)
    if q:
        pattern = f"%{_escape_like(q.strip())}%"
        query = query.where(
            or_(
                Course.code.ilike(pattern, escape="\\"),
                Course.title_ko.ilike(pattern, escape="\\"),
                Course.title_en.ilike(pattern, escape="\\"),
                Section.instructor_name.ilike(pattern, escape="\\"),
            )
        )
    if department:
        query = query.where(Department.code == department)
    if instructor_id is not None:
        query = query.where(Section.instructor_id == instructor_id)
    if has_seats:
        query = query.where(Section.enrolled < Section.capacity, Section.status == "open")
    total = await conn.scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        await conn.execute(
            query.order_by(Course.code, Section.number)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return SectionPage(
        items=await _with_details(conn, rows), page=page, page_size=page_size, total=total or 0
    )


async def _with_details(conn: AsyncConnection, rows: Sequence[Any]) -> list[SectionOut]:
    section_ids = [r.id for r in rows]
    course_ids = list({r.course_id for r in rows})
    meetings: dict[int, list[MeetingTimeOut]] = {}
    prerequisites: dict[int, list[str]] = {}
    if section_ids:
        for m in await conn.execute(
            select(MeetingTime)
            .where(MeetingTime.section_id.in_(section_ids))
            .order_by(MeetingTime.day, MeetingTime.start_minute)
        ):
            meetings.setdefault(m.section_id, []).append(
                MeetingTimeOut(
                    day=m.day,
                    day_name=DAY_NAMES[m.day],
                    start=hhmm_of(m.start_minute),
                    end=hhmm_of(m.end_minute),
                    room=m.room,
                )
            )
        for p in await conn.execute(
            select(course_prerequisites.c.course_id, Course.code)
            .join(Course, Course.id == course_prerequisites.c.prerequisite_id)
            .where(course_prerequisites.c.course_id.in_(course_ids))
            .order_by(Course.code)
        ):
            prerequisites.setdefault(p.course_id, []).append(p.code)
    return [
        SectionOut(
            **r._mapping,
            seats_left=max(r.capacity - r.enrolled, 0),
            meeting_times=meetings.get(r.id, []),
            prerequisite_codes=prerequisites.get(r.course_id, []),
        )
        for r in rows
    ]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def term_view(conn: AsyncConnection, term_id: int) -> TermOut:
    term = (await conn.execute(select(Term).where(Term.id == term_id))).first()
    if term is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    return await _term_out(conn, term)


async def current_term_view(conn: AsyncConnection) -> TermOut:
    term = (
        await conn.execute(select(Term).where(Term.is_current.is_(True)).order_by(Term.id.desc()))
    ).first()
    if term is None:
        raise NotFound(what="current term", what_ko="현재 학기")
    return await _term_out(conn, term)


async def current_term_id(conn: AsyncConnection) -> int:
    term_id = await conn.scalar(
        select(Term.id).where(Term.is_current.is_(True)).order_by(Term.id.desc()).limit(1)
    )
    if term_id is None:
        raise NotFound(what="current term", what_ko="현재 학기")
    return term_id


async def _term_out(conn: AsyncConnection, term: Any) -> TermOut:
    windows = await conn.execute(
        select(EnrollmentWindow)
        .where(EnrollmentWindow.term_id == term.id)
        .order_by(EnrollmentWindow.opens_at, EnrollmentWindow.year_group)
    )
    return TermOut(
        id=term.id,
        code=term.code,
        name_ko=term.name_ko,
        name_en=term.name_en,
        is_current=term.is_current,
        basket=WindowOut(
            year_group=None, opens_at=term.basket_opens_at, closes_at=term.basket_closes_at
        ),
        add_drop=WindowOut(
            year_group=None, opens_at=term.add_drop_opens_at, closes_at=term.add_drop_closes_at
        ),
        enrollment_windows=[
            WindowOut(year_group=w.year_group, opens_at=w.opens_at, closes_at=w.closes_at)
            for w in windows
        ],
    )
