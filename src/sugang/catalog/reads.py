"""Read models for sections and terms: one query per page plus one for meeting times."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, column, func, or_, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.facts import DAY_NAMES
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
    CourseOut,
    DepartmentOut,
    MeetingTimeOut,
    SectionOut,
    SectionPage,
    TermOut,
    WindowOut,
    hhmm_of,
)
from sugang.errors import NotFound

# The waitlist is the enrollment domain's table: named here, not imported, so that the
# catalog depends on no domain above it.
_waitlist_entries = table("waitlist_entries", column("section_id"))
_waitlist_length = (
    select(func.count())
    .where(_waitlist_entries.c.section_id == Section.id)
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


async def term_id_of(conn: AsyncConnection, code_or_id: str) -> int:
    """A term's id from its code (e.g. 2027-1) or its id."""
    as_id = int(code_or_id) if code_or_id.isdigit() else -1
    term_id = await conn.scalar(
        select(Term.id).where((Term.code == code_or_id) | (Term.id == as_id))
    )
    if term_id is None:
        raise NotFound(what=f"term {code_or_id}", what_ko=f"학기 {code_or_id}")
    return int(term_id)


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


_RUSH_MODE = text("SELECT rush_mode FROM terms WHERE id = :term_id")
_CURRENT_TERM = text(
    "SELECT id, rush_mode, room_generation FROM terms WHERE is_current ORDER BY id DESC LIMIT 1"
)


async def rush_mode_of(conn: AsyncConnection, term_id: int) -> bool:
    """Whether the term needs the waiting room; NotFound if there is no such term."""
    rush_mode = (await conn.execute(_RUSH_MODE, {"term_id": term_id})).first()
    if rush_mode is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    return bool(rush_mode[0])


async def current_term_rush(conn: AsyncConnection) -> tuple[int, bool, int] | None:
    """The current term's id, whether it is in rush mode and its waiting room's generation;
    None without a current term."""
    row = (await conn.execute(_CURRENT_TERM)).first()
    if row is None:
        return None
    return int(row.id), bool(row.rush_mode), int(row.room_generation)


async def term_views(conn: AsyncConnection) -> list[TermOut]:
    """Every term, the newest first."""
    ids = (await conn.scalars(select(Term.id).order_by(Term.id.desc()))).all()
    return [await term_view(conn, term_id) for term_id in ids]


async def department_views(conn: AsyncConnection) -> list[DepartmentOut]:
    rows = await conn.execute(select(Department).order_by(Department.code))
    return [DepartmentOut.model_validate(r, from_attributes=True) for r in rows]


async def course_views(conn: AsyncConnection, course_id: int | None = None) -> list[CourseOut]:
    """Every course by code, or the one asked for (NotFound if there is none)."""
    query = (
        select(
            Course.id,
            Course.code,
            Course.title_ko,
            Course.title_en,
            Course.credits,
            Department.code.label("department_code"),
        )
        .join(Department, Department.id == Course.department_id)
        .order_by(Course.code)
    )
    if course_id is not None:
        query = query.where(Course.id == course_id)
    rows = (await conn.execute(query)).all()
    if course_id is not None and not rows:
        raise NotFound(what="course", what_ko="과목", course_id=course_id)
    prerequisite = Course.__table__.alias("prerequisite")
    prerequisites: dict[int, list[str]] = {}
    for p in await conn.execute(
        select(course_prerequisites.c.course_id, prerequisite.c.code)
        .join(prerequisite, prerequisite.c.id == course_prerequisites.c.prerequisite_id)
        .order_by(prerequisite.c.code)
    ):
        prerequisites.setdefault(p.course_id, []).append(p.code)
    return [CourseOut(**r._mapping, prerequisite_codes=prerequisites.get(r.id, [])) for r in rows]


async def sections_taught(conn: AsyncConnection, instructor_id: int) -> list[SectionOut]:
    """The current term's sections that the user teaches."""
    term_id = await current_term_id(conn)
    ids = (
        await conn.scalars(
            select(Section.id)
            .where(Section.term_id == term_id, Section.instructor_id == instructor_id)
            .order_by(Section.id)
        )
    ).all()
    return await section_views(conn, list(ids))


async def instructor_of(conn: AsyncConnection, section_id: int) -> int | None:
    return await conn.scalar(select(Section.instructor_id).where(Section.id == section_id))
