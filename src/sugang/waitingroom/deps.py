"""The waiting room for handlers, and the admission pass every enroll and drop may carry."""

from typing import Annotated

from fastapi import Depends, Header

from sugang.errors import AdmissionInvalid
from sugang.http.deps import SettingsDep, provided
from sugang.waitingroom.passes import read_admission
from sugang.waitingroom.room import Admission
from sugang.waitingroom.schemas import ADMISSION_HEADER
from sugang.waitingroom.service import WaitingRoomService

Queue = Annotated[WaitingRoomService, provided("queue")]


async def admission_pass(
    settings: SettingsDep,
    token: Annotated[
        str | None,
        Header(
            alias=ADMISSION_HEADER,
            max_length=2048,
            description="the waiting room's pass (needed while the term is in rush mode)",
        ),
    ] = None,
) -> Admission | None:
    """The verified pass from X-Admission-Token; a pass that fails its signature is refused
    here, before any database work. Whether it admits to this term now is a rule
    (sugang.enrollment.rules.check_admission)."""
    if token is None:
        return None
    admission = read_admission(token, settings.secret_key.get_secret_value())
    if admission is None:
        raise AdmissionInvalid()
    return admission


AdmissionPass = Annotated[Admission | None, Depends(admission_pass)]
