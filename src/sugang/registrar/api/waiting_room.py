"""/api/v1/admin/terms/{id}/waiting-room: rush mode and the room's controls."""

from fastapi import APIRouter

from sugang.auth.deps import Admin
from sugang.http.deps import IdPath
from sugang.waitingroom.deps import Queue
from sugang.waitingroom.schemas import RoomOut, RoomPatch
from sugang.waitingroom.service import RoomChange

router = APIRouter(prefix="/api/v1", tags=["waiting room"])


@router.get("/admin/terms/{term_id}/waiting-room", response_model=RoomOut)
async def get_room(term_id: IdPath, _: Admin, queue: Queue) -> RoomOut:
    """Depth, admitted so far, ETA of the last in line, and the admission policy."""
    return RoomOut.of(*await queue.status(term_id))


@router.patch("/admin/terms/{term_id}/waiting-room", response_model=RoomOut)
async def change_room(term_id: IdPath, body: RoomPatch, user: Admin, queue: Queue) -> RoomOut:
    """Rush mode on/off, open/close, pause/resume, rate or mode; every change is audited."""
    change = RoomChange(**body.model_dump())
    return RoomOut.of(*await queue.change(term_id, change, user.user_id))
