"""A challenge before a ticket (SUGANG_TICKET_CHALLENGE): off by default.

The hook is `TicketChallenge.check`: it lets a ticket be taken, or raises CHALLENGE_REQUIRED
(428) with what the client must solve, which it answers in the X-Sugang-Challenge header of
its next try. Built in: `pow`, a proof of work (hashcash) the web UI solves by itself — a
signed, two-minute puzzle bound to the student: find a counter such that
sha256("<puzzle>:<counter>") starts with `bits` zero bits (16 bits: ~65,000 hashes, a second
or two on a phone; nothing for one student, a real cost for a bot taking thousands of
tickets). A CAPTCHA (Turnstile, hCaptcha, reCAPTCHA) plugs in at the same place: its `check`
verifies the widget's token with the provider (a network call this repository does not make;
docs/security.md says how).
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from sugang.auth import signing
from sugang.clock import Clock
from sugang.errors import ChallengeRequired

CHALLENGE_HEADER = "X-Sugang-Challenge"
AUDIENCE = "sugang-challenge"
LIFETIME = timedelta(minutes=2)


class TicketChallenge(Protocol):
    async def check(self, student_id: int, answer: str | None) -> None:
        """Return if the student may take a ticket; else raise ChallengeRequired."""
        ...


class NoChallenge:
    async def check(self, student_id: int, answer: str | None) -> None:
        return None


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solves(puzzle: str, counter: str, bits: int) -> bool:
    digest = hashlib.sha256(f"{puzzle}:{counter}".encode()).digest()
    return leading_zero_bits(digest) >= bits


class ProofOfWork:
    def __init__(self, secret: str, bits: int, clock: Clock) -> None:
        self.secret = secret
        self.bits = bits
        self.clock = clock

    def puzzle(self, student_id: int) -> str:
        expires = self.clock() + LIFETIME
        claims = {
            "sub": str(student_id),
            "aud": AUDIENCE,
            "exp": int(expires.timestamp()),
            "n": secrets.token_hex(8),
        }
        return signing.sign(claims, self.secret)

    async def check(self, student_id: int, answer: str | None) -> None:
        puzzle, _, counter = (answer or "").rpartition(":")
        if not (puzzle and self._is_ours(puzzle, student_id, self.clock())):
            self._refuse(student_id, "required")
        if len(counter) > 32 or not solves(puzzle, counter, self.bits):
            self._refuse(student_id, "wrong")

    def _is_ours(self, puzzle: str, student_id: int, now: datetime) -> bool:
        claims = signing.verify(puzzle, self.secret, AUDIENCE, ("sub", "exp"))
        if claims is None:
            return False
        return claims["sub"] == str(student_id) and int(claims["exp"]) > now.timestamp()

    def _refuse(self, student_id: int, reason: str) -> NoReturn:
        raise ChallengeRequired(
            kind="pow", puzzle=self.puzzle(student_id), bits=self.bits, reason=reason
        )
