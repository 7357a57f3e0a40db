"""The waiting room for handlers, and the admission pass every enroll and drop may carry."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from sugang.auth.deps import CurrentStudent
from sugang.errors import AdmissionInvalid
from sugang.http.deps import SettingsDep, provided
from sugang.waitingroom.challenge import CHALLENGE_HEADER, TicketChallenge
from sugang.waitingroom.passes import read_admission
from sugang.waitingroom.room import Admission
from sugang.waitingroom.schemas import ADMISSION_HEADER
from sugang.waitingroom.service import WaitingRoomService

Queue = Annotated[WaitingRoomService, provided("queue")]
PASS_MAX_LENGTH = 2048


@dataclass(frozen=True)
class PresentedPass:
    """X-Admission-Token as the client sent it (None: no pass)."""

    token: str | None
    secret: str

    def verify(self) -> Admission | None:
        """What the pass says, if its signature holds (no I/O); ADMISSION_INVALID if it does
        not. Handlers call it first, once the request's own fields are valid: a malformed
        request is a 422 whatever pass it carries. Whether the pass admits to this term now is
        a rule (sugang.enrollment.rules.check_admission)."""
        if self.token is None:
            return None
        admission = read_admission(self.token, self.secret)
        if admission is None:
            raise AdmissionInvalid()
        return admission


async def presented_pass(
    settings: SettingsDep,
    token: Annotated[
        str | None,
        Header(
            alias=ADMISSION_HEADER,
            max_length=PASS_MAX_LENGTH,
            description="the waiting room's pass (needed while the term is in rush mode)",
        ),
    ] = None,
) -> PresentedPass:
    return PresentedPass(token, settings.secret_key.get_secret_value())


AdmissionPass = Annotated[PresentedPass, Depends(presented_pass)]


async def passed_challenge(
    student: CurrentStudent,
    challenge: Annotated[TicketChallenge, provided("ticket_challenge")],
    answer: Annotated[
        str | None,
        Header(
            alias=CHALLENGE_HEADER,
            max_length=2048,
            description="the answer to a CHALLENGE_REQUIRED refusal (when the challenge is on)",
        ),
    ] = None,
) -> None:
    await challenge.check(student.user_id, answer)


ChallengePassed = Depends(passed_challenge)
