"""Per-process cache of the catalog facts the rules need, dropped whenever the catalog changes.

Every enroll transaction reads catalog_state.version in the statement that locks the student
row, and calls `sync` with it before asking for anything. Any admin change to a term, window,
course, section status or meeting time moves the version in its own transaction, so the rules
never judge against a catalog older than the one committed when the student's transaction
began. A load is kept only if the version did not move while it ran (so a slow, older read
cannot be filed under a newer version), and transactions that change the catalog read through
a private cache (EnrollmentService.fill_seats_in), never this one. Seats (capacity,
enrolled) are never taken from here: the claim statement reads them live.
"""

from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.catalog.facts import SectionInfo, Slot, TermInfo, Window
from sugang.db.types import UTCDateTime
from sugang.errors import NotFound

_SECTIONS = text(
    """
    SELECT s.id, s.term_id, s.course_id, s.number, s.status, c.code, c.credits
    FROM sections s JOIN courses c ON c.id = s.course_id
    WHERE s.id IN :ids
    """
).bindparams(bindparam("ids", expanding=True))

_MEETING_TIMES = text(
    """
    SELECT section_id, day, start_minute, end_minute, room
    FROM meeting_times WHERE section_id IN :ids
    ORDER BY section_id, day, start_minute
    """
).bindparams(bindparam("ids", expanding=True))

_PREREQUISITES = text(
    """
    SELECT p.course_id, p.prerequisite_id, c.code
    FROM course_prerequisites p JOIN courses c ON c.id = p.prerequisite_id
    WHERE p.course_id IN :course_ids
    """
).bindparams(bindparam("course_ids", expanding=True))

_TERM = text(
    """
    SELECT id, code, rush_mode, room_generation, basket_opens_at, basket_closes_at,
           add_drop_opens_at, add_drop_closes_at
    FROM terms WHERE id = :term_id
    """
).columns(
    basket_opens_at=UTCDateTime(),
    basket_closes_at=UTCDateTime(),
    add_drop_opens_at=UTCDateTime(),
    add_drop_closes_at=UTCDateTime(),
)

_WINDOWS = text(
    "SELECT year_group, opens_at, closes_at FROM enrollment_windows WHERE term_id = :term_id"
).columns(opens_at=UTCDateTime(), closes_at=UTCDateTime())

BUMP_VERSION = text("UPDATE catalog_state SET version = version + 1 WHERE id = 1")


async def bump_catalog_version(conn: AsyncConnection) -> None:
    """Call in every transaction that changes terms, windows, courses or sections."""
    await conn.execute(BUMP_VERSION)


class CatalogCache:
    def __init__(self) -> None:
        self.version = -1
        self._sections: dict[int, SectionInfo] = {}
        self._terms: dict[int, TermInfo] = {}

    def sync(self, version: int) -> None:
        if version != self.version:
            self._sections.clear()
            self._terms.clear()
            self.version = version

    async def section(self, conn: AsyncConnection, section_id: int) -> SectionInfo:
        found = await self.sections(conn, [section_id])
        if section_id not in found:
            raise NotFound(what="section", what_ko="분반", section_id=section_id)
        return found[section_id]

    async def sections(
        self, conn: AsyncConnection, section_ids: Iterable[int]
    ) -> dict[int, SectionInfo]:
        wanted = set(section_ids)
        found = {sid: self._sections[sid] for sid in wanted if sid in self._sections}
        missing = wanted - found.keys()
        if missing:
            version = self.version
            loaded = await load_sections(conn, missing)
            found.update(loaded)
            if self.version == version:  # else the catalog moved on while we read: don't keep it
                self._sections.update(loaded)
        return found

    async def term(self, conn: AsyncConnection, term_id: int) -> TermInfo:
        term = self._terms.get(term_id)
        if term is None:
            version = self.version
            term = await _load_term(conn, term_id)
            if self.version == version:
                self._terms[term_id] = term
        return term


async def load_sections(conn: AsyncConnection, ids: set[int]) -> dict[int, SectionInfo]:
    rows = (await conn.execute(_SECTIONS, {"ids": sorted(ids)})).all()
    if not rows:
        return {}
    slots: dict[int, list[Slot]] = {}
    for r in await conn.execute(_MEETING_TIMES, {"ids": [r.id for r in rows]}):
        slots.setdefault(r.section_id, []).append(Slot(r.day, r.start_minute, r.end_minute, r.room))
    prerequisites: dict[int, dict[int, str]] = {}
    course_ids = sorted({r.course_id for r in rows})
    for r in await conn.execute(_PREREQUISITES, {"course_ids": course_ids}):
        prerequisites.setdefault(r.course_id, {})[r.prerequisite_id] = r.code
    return {
        r.id: SectionInfo(
            id=r.id,
            term_id=r.term_id,
            course_id=r.course_id,
            course_code=r.code,
            credits=r.credits,
            number=r.number,
            status=r.status,
            slots=tuple(slots.get(r.id, ())),
            prerequisites=prerequisites.get(r.course_id, {}),
        )
        for r in rows
    }


async def _load_term(conn: AsyncConnection, term_id: int) -> TermInfo:
    row = (await conn.execute(_TERM, {"term_id": term_id})).one_or_none()
    if row is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    windows = tuple(
        Window(w.opens_at, w.closes_at, w.year_group)
        for w in await conn.execute(_WINDOWS, {"term_id": term_id})
    )
    return TermInfo(
        id=row.id,
        code=row.code,
        basket=Window(row.basket_opens_at, row.basket_closes_at),
        add_drop=Window(row.add_drop_opens_at, row.add_drop_closes_at),
        enrollment_windows=windows,
        rush_mode=bool(row.rush_mode),
        room_generation=int(row.room_generation),
    )
