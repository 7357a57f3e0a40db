"""Registrar CRUD for students, and creation of professor and admin accounts."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.service import create_user
from sugang.deps import Admin, IdPath, ServicesDep
from sugang.students import service as students
from sugang.students.schemas import Password, StudentIn, StudentOut, StudentPage, StudentPatch

router = APIRouter(prefix="/api/v1/admin", tags=["registrar"])


class StaffIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Literal["professor", "admin"]
    password: Password


class StaffOut(BaseModel):
    id: int
    username: str
    name: str
    role: str


@router.get("/students", response_model=StudentPage)
async def list_students(
    _: Admin,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StudentPage:
    async with services.db.transaction(write=False) as conn:
        return await students.list_students(conn, q=q, page=page, page_size=page_size)


@router.post("/students", response_model=StudentOut, status_code=201)
async def create_student(body: StudentIn, _: Admin, services: ServicesDep) -> StudentOut:
    async def work(conn: AsyncConnection) -> StudentOut:
        student_id = await students.create_student(conn, body, services.clock)
        return await students.get_student(conn, student_id)

    return await services.db.run(work)


@router.get("/students/{student_id}", response_model=StudentOut)
async def get_student(student_id: IdPath, _: Admin, services: ServicesDep) -> StudentOut:
    async with services.db.transaction(write=False) as conn:
        return await students.get_student(conn, student_id)


@router.patch("/students/{student_id}", response_model=StudentOut)
async def update_student(
    student_id: IdPath, body: StudentPatch, _: Admin, services: ServicesDep
) -> StudentOut:
    async def work(conn: AsyncConnection) -> StudentOut:
        await students.update_student(conn, student_id, body)
        return await students.get_student(conn, student_id)

    return await services.db.run(work)


@router.delete("/students/{student_id}", status_code=204)
async def delete_student(student_id: IdPath, user: Admin, services: ServicesDep) -> Response:
    """Delete a student; their seats are released through the normal drop (waitlists move)."""
    await services.db.run(
        lambda conn: students.delete_student(conn, student_id, services.enrollment, user.user_id)
    )
    return Response(status_code=204)


@router.post("/users", response_model=StaffOut, status_code=201)
async def create_staff(body: StaffIn, _: Admin, services: ServicesDep) -> StaffOut:
    """Create a professor or registrar (admin) account."""

    async def work(conn: AsyncConnection) -> StaffOut:
        user = await create_user(
            conn,
            username=body.username,
            name=body.name,
            role=body.role,
            password=body.password,
            clock=services.clock,
        )
        return StaffOut(id=user.id, username=user.username, name=user.name, role=user.role)

    return await services.db.run(work)
