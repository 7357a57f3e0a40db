"""Request and response shapes for tickets and the registrar's room controls."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from sugang.waitingroom.room import Mode, RoomStatus

ADMISSION_HEADER = "X-Admission-Token"


class TicketOut(BaseModel):
    ticket: str
    term_id: int
    position: int | None = Field(description="1 = next; null until the opening lottery")
    ahead: int | None
    eta_seconds: float | None
    admitted: bool
    access_token: str | None = Field(
        default=None, description=f"send as {ADMISSION_HEADER} when enrolling or dropping"
    )
    access_expires_at: datetime | None = None
    poll_after_seconds: float | None = Field(
        default=None, description="ask again after this long (or follow the events stream)"
    )


class RoomOut(BaseModel):
    term_id: int
    rush_mode: bool
    accepting: bool
    paused: bool
    opens_at: datetime
    mode: Mode
    rate: float
    max_active: int
    session_seconds: int
    lottery_done: bool
    joined: int
    admitted: int
    waiting: int
    active: int
    eta_last_seconds: float | None

    @classmethod
    def of(cls, rush_mode: bool, status: RoomStatus) -> "RoomOut":
        return cls(
            term_id=status.term_id,
            rush_mode=rush_mode,
            accepting=status.accepting,
            paused=status.paused,
            opens_at=datetime.fromtimestamp(status.opens_at, UTC),
            mode=status.policy.mode,
            rate=status.policy.rate,
            max_active=status.policy.max_active,
            session_seconds=status.policy.session_seconds,
            lottery_done=status.lottery_done,
            joined=status.joined,
            admitted=status.admitted,
            waiting=status.waiting,
            active=status.active,
            eta_last_seconds=status.eta_last_seconds,
        )


class RoomPatch(BaseModel):
    rush_mode: bool | None = None
    accepting: bool | None = Field(default=None, description="take new tickets (open/close)")
    paused: bool | None = Field(default=None, description="stop admitting for now")
    mode: Mode | None = None
    rate: Annotated[float, Field(gt=0, le=100_000)] | None = None
    max_active: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    session_seconds: Annotated[int, Field(ge=10, le=24 * 3600)] | None = None
    opens_at: AwareDatetime | None = Field(
        default=None, description="the opening (lottery) instant"
    )
    reset: bool = Field(default=False, description="forget every ticket (a rehearsal)")
