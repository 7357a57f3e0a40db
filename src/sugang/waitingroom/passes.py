"""Queue tickets and admission passes: signed, expiring, bound to one student and one term.

Each kind has its own audience, so neither can stand in for the other or for a login token.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sugang.auth import signing
from sugang.waitingroom.room import Admission

TICKET_AUDIENCE = "sugang-ticket"
ADMISSION_AUDIENCE = "sugang-admission"
_REQUIRED = ("sub", "term", "exp")


@dataclass(frozen=True)
class Ticket:
    student_id: int
    term_id: int
    epoch: int = 0  # of the room when the ticket was taken (see WaitingRoom.epoch)
    generation: int = 0  # of the term's room in the database (Term.room_generation)


def issue_ticket(ticket: Ticket, secret: str, expires_at: datetime) -> str:
    return signing.sign(
        {
            "sub": str(ticket.student_id),
            "term": ticket.term_id,
            "room": ticket.epoch,
            "gen": ticket.generation,
            "aud": TICKET_AUDIENCE,
            "exp": int(expires_at.timestamp()),
        },
        secret,
    )


def read_ticket(token: str, secret: str, now: datetime) -> Ticket | None:
    claims = signing.verify(token, secret, TICKET_AUDIENCE, _REQUIRED)
    try:
        if claims is None or int(str(claims["exp"])) <= now.timestamp():
            return None
        epoch = int(str(claims.get("room", 0)))
        generation = int(str(claims.get("gen", 0)))
        return Ticket(int(str(claims["sub"])), int(str(claims["term"])), epoch, generation)
    except ValueError:
        return None


def issue_admission(admission: Admission, secret: str) -> str:
    return signing.sign(
        {
            "sub": str(admission.student_id),
            "term": admission.term_id,
            "aud": ADMISSION_AUDIENCE,
            "exp": int(admission.expires_at.timestamp()),
            "gen": admission.generation,
        },
        secret,
    )


def read_admission(token: str, secret: str) -> Admission | None:
    """The pass's claims if its signature holds (expiry is a rule, judged on the clock)."""
    claims = signing.verify(token, secret, ADMISSION_AUDIENCE, _REQUIRED)
    if claims is None:
        return None
    try:
        return Admission(
            int(str(claims["sub"])),
            int(str(claims["term"])),
            datetime.fromtimestamp(int(str(claims["exp"])), UTC),
            int(str(claims.get("gen", 0))),
        )
    except (ValueError, OverflowError, OSError):
        return None
