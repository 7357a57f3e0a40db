"""/api/v1/admin: students, and professor and registrar accounts."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sugang.auth.deps import Admin, Auth
from sugang.auth.schemas import StaffIn, StaffOut, UserOut, UserPatch
from sugang.http.deps import IdPath
from sugang.registrar.deps import Registrar
from sugang.students.deps import Students
from sugang.students.schemas import StudentIn, StudentOut, StudentPage, StudentPatch

router = APIRouter(prefix="/api/v1/admin", tags=["registrar"])


@router.get("/students", response_model=StudentPage)
async def list_students(
    _: Admin,
    students: Students,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StudentPage:
    return await students.search(q=q, page=page, page_size=page_size)


@router.post("/students", response_model=StudentOut, status_code=201)
async def create_student(body: StudentIn, user: Admin, students: Students) -> StudentOut:
    return await students.create(body, user.user_id)


@router.get("/students/{student_id}", response_model=StudentOut)
async def get_student(student_id: IdPath, _: Admin, students: Students) -> StudentOut:
    return await students.get(student_id)


@router.patch("/students/{student_id}", response_model=StudentOut)
async def update_student(
    student_id: IdPath, body: StudentPatch, user: Admin, students: Students
) -> StudentOut:
    """Edit a student's record; a new password logs them out everywhere."""
    return await students.update(student_id, body, user.user_id)


@router.delete("/students/{student_id}", status_code=204)
async def delete_student(student_id: IdPath, user: Admin, registrar: Registrar) -> Response:
    """Delete a student; their seats are released through the normal drop (waitlists move)."""
    await registrar.delete_student(student_id, user.user_id)
    return Response(status_code=204)


@router.post("/users", response_model=StaffOut, status_code=201)
async def create_staff(body: StaffIn, user: Admin, auth: Auth) -> StaffOut:
    """Create a professor or registrar (admin) account."""
    return await auth.create_staff(body, user.user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: IdPath, body: UserPatch, user: Admin, auth: Auth) -> UserOut:
    """Rename, reset the password of, disable or re-enable any account, or change a staff
    account's role. A new role, a new password or disabling logs the user out everywhere."""
    return await auth.update_user(user_id, body, user.user_id)
