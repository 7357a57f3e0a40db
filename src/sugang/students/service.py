"""The registrar's view of students: search, read, create and edit records.
(Deleting a student drops their seats first: sugang.registrar.service.)"""

from sqlalchemy.ext.asyncio import AsyncConnection

from sugang import audit
from sugang.clock import Clock
from sugang.db import Database
from sugang.students import store
from sugang.students.schemas import StudentIn, StudentOut, StudentPage, StudentPatch


class StudentService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def search(self, *, q: str | None, page: int, page_size: int) -> StudentPage:
        async with self.db.transaction(write=False) as conn:
            return await store.list_students(conn, q=q, page=page, page_size=page_size)

    async def get(self, student_id: int) -> StudentOut:
        async with self.db.transaction(write=False) as conn:
            return await store.get_student(conn, student_id)

    async def create(self, data: StudentIn, actor_id: int | None) -> StudentOut:
        async def work(conn: AsyncConnection) -> StudentOut:
            student_id = await store.create_student(conn, data, self.clock)
            await audit.record(
                conn,
                self.clock(),
                "create_student",
                actor_id=actor_id,
                student_id=student_id,
                detail={"student_number": data.student_number},
            )
            return await store.get_student(conn, student_id)

        return await self.db.run(work)

    async def update(
        self, student_id: int, patch: StudentPatch, actor_id: int | None
    ) -> StudentOut:
        """Audited with what changed (never the password itself)."""

        async def work(conn: AsyncConnection) -> StudentOut:
            await store.update_student(conn, student_id, patch, self.clock)
            await audit.record(
                conn,
                self.clock(),
                "update_student",
                actor_id=actor_id,
                student_id=student_id,
                detail={
                    "fields": sorted(patch.model_fields_set - {"password"}),
                    "password_reset": patch.password is not None,
                },
            )
            return await store.get_student(conn, student_id)

        return await self.db.run(work)
