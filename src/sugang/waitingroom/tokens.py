"""Queue tickets and admission passes: signed, expiring, bound to one student and one term.

Each kind has its own audience, so neither can stand in for the other or for a login token.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import jwt

from sugang.enrollment.rules import Admission

_ALGORITHM = "HS256"
TICKET_AUDIENCE = "sugang-ticket"
ADMISSION_AUDIENCE = "sugang-admission"


@dataclass(frozen=True)
class Ticket:
    student_id: int
    term_id: int


def _sign(claims: dict[str, object], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


# Verified once per process (a student polls with one ticket and enrolls with one pass).
@lru_cache(maxsize=20_000)
def _verify(token: str, secret: str, audience: str) -> dict[str, object] | None:
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=audience,
            options={"require": ["sub", "term", "exp"], "verify_exp": False},
        )
        return claims
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None


def issue_ticket(ticket: Ticket, secret: str, expires_at: datetime) -> str:
    return _sign(
        {
            "sub": str(ticket.student_id),
            "term": ticket.term_id,
            "aud": TICKET_AUDIENCE,
            "exp": int(expires_at.timestamp()),
        },
        secret,
    )


def read_ticket(token: str, secret: str, now: datetime) -> Ticket | None:
    claims = _verify(token, secret, TICKET_AUDIENCE)
    if claims is None or int(str(claims["exp"])) <= now.timestamp():
        return None
    return Ticket(int(str(claims["sub"])), int(str(claims["term"])))


def issue_admission(admission: Admission, secret: str) -> str:
    return _sign(
        {
            "sub": str(admission.student_id),
            "term": admission.term_id,
            "aud": ADMISSION_AUDIENCE,
            "exp": int(admission.expires_at.timestamp()),
        },
        secret,
    )


def read_admission(token: str, secret: str) -> Admission | None:
    """The pass's claims if its signature holds (expiry is a rule, judged on the clock)."""
    claims = _verify(token, secret, ADMISSION_AUDIENCE)
    if claims is None:
        return None
    try:
        return Admission(
            int(str(claims["sub"])),
            int(str(claims["term"])),
            datetime.fromtimestamp(int(str(claims["exp"])), UTC),
        )
    except (ValueError, OverflowError, OSError):
        return None
