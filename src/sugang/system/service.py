"""What the operators' endpoints read: whether the database answers, the current rush term's
waiting room, and seats left on the fullest sections."""

from typing import Any

from sqlalchemy import text

from sugang.clock import Clock
from sugang.db import Database
from sugang.waitingroom.room import RoomStatus, WaitingRoom

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


class SystemService:
    def __init__(self, db: Database, room: WaitingRoom, clock: Clock, sections: int) -> None:
        self.db = db
        self.room = room
        self.clock = clock
        self.sections = sections  # how many of the fullest sections to report

    async def ping_database(self) -> None:
        """Raises if the database does not answer."""
        await self.db.ping()

    async def rush_room(self) -> RoomStatus | None:
        """The current term's room while it is in rush mode (the room is shared, so any
        replica's answer is the whole room's)."""
        async with self.db.transaction(write=False) as conn:
            term_id = await conn.scalar(_RUSH_TERM)
        if term_id is None:
            return None
        return await self.room.status(term_id, self.clock().timestamp())

    async def fullest_sections(self) -> list[Any]:
        """(id, code, number, seats_left) of the current term's fullest sections."""
        if not self.sections:
            return []
        async with self.db.transaction(write=False) as conn:
            return list((await conn.execute(_FULLEST_SECTIONS, {"limit": self.sections})).all())
