"""Tickets, places and admission passes for students; the registrar's controls; the adaptive
admission step."""

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.catalog import reads as catalog_reads
from sugang.catalog import store as catalog_store
from sugang.clock import Clock
from sugang.config import Settings
from sugang.db import Database
from sugang.errors import NotFound, NotInRushMode, QueueUnavailable, TicketInvalid
from sugang.waitingroom.controller import AimdSettings, next_rate
from sugang.waitingroom.latency import ServiceLatency
from sugang.waitingroom.passes import Ticket, issue_admission, issue_ticket, read_ticket
from sugang.waitingroom.room import (
    Admission,
    Mode,
    Place,
    Policy,
    RoomStatus,
    WaitingRoom,
    poll_after,
)
from sugang.waitingroom.schemas import TicketOut

log = logging.getLogger("sugang.waitingroom")

# A ticket is good for a week after the room opened: longer than any rush.
TICKET_LIFETIME = timedelta(days=7)


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


class WaitingRoomService:
    def __init__(
        self,
        db: Database,
        room: WaitingRoom,
        clock: Clock,
        rng: random.Random,
        settings: Settings,
        latency: ServiceLatency,
    ) -> None:
        self.db = db
        self.room = room
        self.clock = clock
        self.rng = rng
        self.settings = settings
        self.latency = latency

    # --- students ----------------------------------------------------------------------------

    async def take_ticket(self, student_id: int) -> TicketOut:
        """The student's ticket for the current term's room; asking again returns the same."""
        async with self.db.transaction(write=False) as conn:
            current = await catalog_reads.current_term_rush(conn)
        if current is None:
            raise NotFound(what="current term", what_ko="현재 학기")
        term_id, rush_mode, generation = current
        if not rush_mode:
            raise NotInRushMode(term_id=term_id)
        place = await self.room.join(term_id, student_id, self.clock().timestamp())
        epoch = await self.room.epoch(term_id)
        return self._view(Ticket(student_id, term_id, epoch, generation), place)

    async def ticket(self, token: str, student_id: int) -> TicketOut:
        """Where the ticket's holder stands; once admitted, with the pass."""
        ticket = read_ticket(token, self._secret, self.clock())
        if ticket is None or ticket.student_id != student_id:
            raise TicketInvalid()
        now = self.clock().timestamp()
        place = await self.room.place(ticket.term_id, student_id, now)
        if place is None:
            if ticket.epoch < await self.room.epoch(ticket.term_id):
                raise TicketInvalid()  # the room was reset since (a rehearsal's ticket)
            # The room lost the student: a Redis failover that had not replicated their
            # place, or a Redis that came back empty (its epoch gone too). They are put in
            # line again (at the back, or in the pool before the opening), and the ticket
            # they hold stays good.
            log.warning("room %s lost student %s; in line again", ticket.term_id, student_id)
            place = await self.room.join(ticket.term_id, student_id, now)
        return self._view(ticket, place, token)

    # --- the registrar -----------------------------------------------------------------------

    async def status(self, term_id: int) -> tuple[bool, RoomStatus]:
        """(rush_mode, the room's status)."""
        async with self.db.transaction(write=False) as conn:
            rush_mode = await catalog_reads.rush_mode_of(conn, term_id)
        return rush_mode, await self.room.status(term_id, self.clock().timestamp())

    async def change(
        self, term_id: int, change: RoomChange, actor_id: int | None
    ) -> tuple[bool, RoomStatus]:
        """Apply and audit a registrar's change; returns (rush_mode, the room's status)."""
        now = self.clock()

        async def write(conn: AsyncConnection) -> bool:
            rush_mode = await catalog_reads.rush_mode_of(conn, term_id)
            if change.rush_mode is not None and change.rush_mode != rush_mode:
                await catalog_store.set_rush_mode(conn, term_id, change.rush_mode)
                rush_mode = change.rush_mode
            if change.reset:
                await catalog_store.next_room_generation(conn, term_id)
            await audit.record(
                conn,
                now,
                "waiting_room",
                actor_id=actor_id,
                detail={"term_id": term_id, **change.changed()},
            )
            return rush_mode

        rush_mode = await self.db.run(write)
        if change.reset:
            await self.room.reset(term_id)
        if change.opens_at is not None:
            # Before anything reads the room: a read after the opening draws the lottery.
            await self.room.configure(term_id, opens_at=change.opens_at.timestamp())
        current = await self.room.status(term_id, now.timestamp())
        policy = current.policy
        if any(
            v is not None
            for v in (change.mode, change.rate, change.max_active, change.session_seconds)
        ):
            policy = Policy(
                mode=change.mode or policy.mode,
                rate=change.rate if change.rate is not None else policy.rate,
                max_active=change.max_active
                if change.max_active is not None
                else policy.max_active,
                session_seconds=change.session_seconds or policy.session_seconds,
            )
        await self.room.configure(
            term_id, policy=policy, paused=change.paused, accepting=change.accepting
        )
        return rush_mode, await self.room.status(term_id, now.timestamp())

    async def reset(self, term_id: int, actor_id: int | None = None) -> None:
        """Forget every ticket of the term's room; the passes it gave admit no more."""

        async def write(conn: AsyncConnection) -> None:
            await catalog_store.next_room_generation(conn, term_id)
            await audit.record(
                conn,
                self.clock(),
                "waiting_room",
                actor_id=actor_id,
                detail={"term_id": term_id, "reset": True},
            )

        await self.db.run(write)
        await self.room.reset(term_id)

    # --- the adaptive controller -------------------------------------------------------------

    async def publish_latency(self) -> None:
        """This worker's enroll answers since the last call, added to the service's (each
        worker calls it once a slice)."""
        await self.latency.publish(self.clock().timestamp())

    async def adapt_rate(self, settings: AimdSettings | None = None) -> float | None:
        """One step of the adaptive controller for the current term, if no other worker took
        this period's step; the new rate, if it moved. The step judges the whole service's
        latency (every worker's, every replica's) over the last period. With the room out of
        reach the step is skipped (the room logged why)."""
        async with self.db.transaction(write=False) as conn:
            current = await catalog_reads.current_term_rush(conn)
        if current is None or not current[1]:
            return None
        term_id = current[0]
        now = self.clock().timestamp()
        try:
            status = await self.room.status(term_id, now)
            if status.policy.mode != "adaptive":
                return None
            if not await self.room.claim_step(term_id, now, self.settings.adaptive_period_seconds):
                return None
            seen = await self.latency.observe(now)
            if seen is None:  # the service's latency out of reach: no judging blind
                return None
            rate = next_rate(status.policy.rate, seen, status.waiting, settings or AimdSettings())
            if rate == status.policy.rate:
                return None
            await self.room.set_rate(term_id, rate)
        except QueueUnavailable:
            return None
        log.info(
            "adaptive admission rate %.1f -> %.1f/s",
            status.policy.rate,
            rate,
            extra={
                "term_id": term_id,
                "p99_ms": round(seen.p99_seconds * 1000, 1),
                "error_rate": round(seen.error_rate, 4),
                "samples": seen.samples,
                "waiting": status.waiting,
            },
        )
        return rate

    @property
    def _secret(self) -> str:
        return self.settings.secret_key.get_secret_value()

    def _view(self, ticket: Ticket, place: Place, token: str | None = None) -> TicketOut:
        """`token`: the ticket the client showed, still good, handed back as it is."""
        if token is None:
            expires = datetime.fromtimestamp(max(place.opens_at, 0.0), UTC) + TICKET_LIFETIME
            token = issue_ticket(
                ticket, self._secret, max(expires, self.clock() + timedelta(hours=1))
            )
        access, access_expires = None, None
        if place.admitted and place.session_expires_at:
            access_expires = datetime.fromtimestamp(place.session_expires_at, UTC)
            admission = Admission(
                ticket.student_id, ticket.term_id, access_expires, ticket.generation
            )
            access = issue_admission(admission, self._secret)
        return TicketOut(
            ticket=token,
            term_id=ticket.term_id,
            position=place.position,
            ahead=place.ahead,
            eta_seconds=place.eta_seconds,
            admitted=place.admitted,
            access_token=access,
            access_expires_at=access_expires,
            poll_after_seconds=poll_after(place, jitter=self.rng.uniform(0.8, 1.2)),
        )
