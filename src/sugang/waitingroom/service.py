"""Tickets, places and admission passes for students; the registrar's controls."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.base import UTCDateTime
from sugang.catalog.cache import bump_catalog_version
from sugang.enrollment.rules import Admission
from sugang.errors import NotFound, NotInRushMode, TicketInvalid
from sugang.services import Services
from sugang.waitingroom.controller import AimdSettings, next_rate
from sugang.waitingroom.room import Mode, Place, Policy, RoomStatus, poll_after
from sugang.waitingroom.tokens import Ticket, issue_admission, issue_ticket, read_ticket

log = logging.getLogger("sugang.waitingroom")

# A ticket is good for a week after the room opened: longer than any rush.
TICKET_LIFETIME = timedelta(days=7)

_CURRENT_TERM = text("SELECT id, rush_mode FROM terms WHERE is_current ORDER BY id DESC LIMIT 1")
_TERM = text("SELECT id, rush_mode FROM terms WHERE id = :term_id")
_SET_RUSH = text("UPDATE terms SET rush_mode = :on WHERE id = :term_id")
_AUDIT = text(
    "INSERT INTO audit_log (at, actor_id, action, outcome, detail)"
    " VALUES (:now, :actor_id, 'waiting_room', 'ok', :detail)"
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("detail", type_=JSON()))


@dataclass(frozen=True)
class TicketView:
    ticket: str
    term_id: int
    place: Place
    access_token: str | None
    access_expires_at: datetime | None
    poll_after_seconds: float | None


async def take_ticket(services: Services, student_id: int) -> TicketView:
    """The student's ticket for the current term's room; asking again returns the same one."""
    async with services.db.transaction(write=False) as conn:
        term = (await conn.execute(_CURRENT_TERM)).first()
    if term is None:
        raise NotFound(what="current term", what_ko="현재 학기")
    if not term.rush_mode:
        raise NotInRushMode(term_id=term.id)
    now = services.clock()
    place = await services.room.join(term.id, student_id, now.timestamp())
    return await _view(services, Ticket(student_id, term.id), place)


async def ticket_view(services: Services, token: str, student_id: int) -> TicketView:
    ticket = read_ticket(token, _secret(services), services.clock())
    if ticket is None or ticket.student_id != student_id:
        raise TicketInvalid()
    place = await services.room.place(ticket.term_id, student_id, services.clock().timestamp())
    if place is None:  # the room was reset since
        raise TicketInvalid()
    return await _view(services, ticket, place, token)


async def _view(
    services: Services, ticket: Ticket, place: Place, token: str | None = None
) -> TicketView:
    """`token`: the ticket the client showed, still good, handed back as it is."""
    if token is None:
        expires = datetime.fromtimestamp(max(place.opens_at, 0.0), UTC) + TICKET_LIFETIME
        token = issue_ticket(
            ticket, _secret(services), max(expires, services.clock() + timedelta(hours=1))
        )
    access, access_expires = None, None
    if place.admitted and place.session_expires_at:
        access_expires = datetime.fromtimestamp(place.session_expires_at, UTC)
        access = issue_admission(
            Admission(ticket.student_id, ticket.term_id, access_expires), _secret(services)
        )
    poll = poll_after(place, jitter=services.rng.uniform(0.8, 1.2))
    return TicketView(token, ticket.term_id, place, access, access_expires, poll)


def _secret(services: Services) -> str:
    return services.settings.secret_key.get_secret_value()


# --- registrar ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomChange:
    rush_mode: bool | None = None
    accepting: bool | None = None
    paused: bool | None = None
    mode: Mode | None = None
    rate: float | None = None
    max_active: int | None = None
    session_seconds: int | None = None
    opens_at: datetime | None = None
    reset: bool = False  # forget every ticket (a rehearsal before the real opening)

    def changed(self) -> dict[str, Any]:
        """What the registrar asked to change, for the audit log."""
        fields = {k: v for k, v in self.__dict__.items() if v is not None}
        if not self.reset:
            del fields["reset"]
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


async def change_room(
    services: Services, term_id: int, change: RoomChange, actor_id: int | None
) -> tuple[bool, RoomStatus]:
    """Apply and audit a registrar's change; returns (rush_mode, the room's status)."""
    now = services.clock()

    async def write(conn: AsyncConnection) -> bool:
        term = (await conn.execute(_TERM, {"term_id": term_id})).first()
        if term is None:
            raise NotFound(what="term", what_ko="학기", term_id=term_id)
        rush_mode = bool(term.rush_mode)
        if change.rush_mode is not None and change.rush_mode != rush_mode:
            await conn.execute(_SET_RUSH, {"on": change.rush_mode, "term_id": term_id})
            await bump_catalog_version(conn)  # the rules read rush_mode from the catalog cache
            rush_mode = change.rush_mode
        await conn.execute(
            _AUDIT,
            {"now": now, "actor_id": actor_id, "detail": {"term_id": term_id, **change.changed()}},
        )
        return rush_mode

    rush_mode = await services.db.run(write)
    if change.reset:
        await services.room.reset(term_id)
    if change.opens_at is not None:
        # Before anything reads the room: a read after the opening draws the lottery.
        await services.room.configure(term_id, opens_at=change.opens_at.timestamp())
    current = await services.room.status(term_id, now.timestamp())
    policy = current.policy
    if any(
        v is not None for v in (change.mode, change.rate, change.max_active, change.session_seconds)
    ):
        policy = Policy(
            mode=change.mode or policy.mode,
            rate=change.rate if change.rate is not None else policy.rate,
            max_active=change.max_active if change.max_active is not None else policy.max_active,
            session_seconds=change.session_seconds or policy.session_seconds,
        )
    await services.room.configure(
        term_id,
        policy=policy,
        paused=change.paused,
        accepting=change.accepting,
    )
    return rush_mode, await services.room.status(term_id, now.timestamp())


async def room_status(services: Services, term_id: int) -> tuple[bool, RoomStatus]:
    async with services.db.transaction(write=False) as conn:
        term = (await conn.execute(_TERM, {"term_id": term_id})).first()
    if term is None:
        raise NotFound(what="term", what_ko="학기", term_id=term_id)
    return bool(term.rush_mode), await services.room.status(term_id, services.clock().timestamp())


async def adapt_rate(services: Services, settings: AimdSettings | None = None) -> float | None:
    """One step of the adaptive controller for the current term, if no other worker took this
    period's step; the new rate, if it moved."""
    async with services.db.transaction(write=False) as conn:
        term = (await conn.execute(_CURRENT_TERM)).first()
    if term is None or not term.rush_mode:
        return None
    now = services.clock().timestamp()
    status = await services.room.status(term.id, now)
    if status.policy.mode != "adaptive":
        return None
    aimd = settings or AimdSettings()
    seen = services.latency.observe()
    if seen.samples < aimd.min_samples:
        # Too little seen here to judge (the bench's keep-alive connections, or a load
        # balancer, may send this worker little): leave the period's step to one that saw.
        return None
    if not await services.room.claim_step(term.id, now, services.settings.adaptive_period_seconds):
        return None
    rate = next_rate(status.policy.rate, seen, status.waiting, aimd)
    if rate == status.policy.rate:
        return None
    await services.room.set_rate(term.id, rate)
    log.info(
        "adaptive admission rate %.1f -> %.1f/s",
        status.policy.rate,
        rate,
        extra={
            "term_id": term.id,
            "p99_ms": round(seen.p99_seconds * 1000, 1),
            "error_rate": round(seen.error_rate, 4),
            "samples": seen.samples,
            "waiting": status.waiting,
        },
    )
    return rate
