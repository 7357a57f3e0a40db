"""What the operators' endpoints read: readiness, the current rush term's waiting room, and
seats left on the fullest sections. None of it waits for the request pool: the database is
read on the side connection with a short timeout, the term and the seats are kept for a few
seconds, and the room's figures come from the room (Redis or this process)."""

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from sugang.clock import Clock
from sugang.config import Settings
from sugang.db import Database
from sugang.system.readiness import Readiness, Verdict
from sugang.waitingroom.room import RoomStatus, WaitingRoom

# How long the rush term and the fullest sections are kept before they are read again.
KEEP_SECONDS = 5.0

_RUSH_TERM = text("SELECT id FROM terms WHERE is_current AND rush_mode ORDER BY id DESC LIMIT 1")
_FULLEST_SECTIONS = text(
    """
    SELECT s.id, c.code, s.number, s.capacity - s.enrolled AS seats_left
    FROM sections s JOIN courses c ON c.id = s.course_id
    JOIN terms t ON t.id = s.term_id AND t.is_current
    ORDER BY s.enrolled * 1.0 / CASE WHEN s.capacity > 0 THEN s.capacity ELSE 1 END DESC, s.id
    LIMIT :limit
    """
)


class _Kept:
    """A value read now and then; the last one known when a read fails."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.value: Any = None
        self.read_at = float("-inf")

    def fresh(self) -> bool:
        return self.clock() - self.read_at < KEEP_SECONDS

    def keep(self, value: Any) -> Any:
        self.value, self.read_at = value, self.clock()
        return value


class SystemService:
    def __init__(
        self,
        db: Database,
        room: WaitingRoom,
        clock: Clock,
        settings: Settings,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.room = room
        self.clock = clock
        self.sections = settings.metrics_sections  # how many of the fullest to report
        self.readiness = Readiness(db.probe, settings.ready_failures, clock=monotonic)
        self._rush_term = _Kept(monotonic)
        self._fullest = _Kept(monotonic)

    async def ready(self) -> Verdict:
        return await self.readiness.verdict()

    async def rush_room(self) -> RoomStatus | None:
        """The current term's room while it is in rush mode (the room is shared, so any
        replica's answer is the whole room's). Raises if the room cannot be read."""
        if not self._rush_term.fresh():
            try:
                async with self.db.side_read() as conn:
                    self._rush_term.keep(await conn.scalar(_RUSH_TERM))
            except Exception:  # the database is away: the term last known
                if self._rush_term.value is None:
                    raise
        term_id = self._rush_term.value
        if term_id is None:
            return None
        return await self.room.status(term_id, self.clock().timestamp())

    async def fullest_sections(self) -> list[Any]:
        """(id, code, number, seats_left) of the current term's fullest sections, as last read
        (at most a few seconds ago when the database answers)."""
        if not self.sections:
            return []
        if not self._fullest.fresh():
            try:
                async with self.db.side_read() as conn:
                    rows = await conn.execute(_FULLEST_SECTIONS, {"limit": self.sections})
                    self._fullest.keep(list(rows.all()))
            except Exception:  # the database is away: the seats last known
                if self._fullest.value is None:
                    raise
        return list(self._fullest.value)
