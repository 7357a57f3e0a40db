"""The registrar's view of students: search, read, create and edit records.
(Deleting a student drops their seats first: sugang.registrar.service.)"""

from sqlalchemy.ext.asyncio import AsyncConnection

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

    async def create(self, data: StudentIn) -> StudentOut:
        async def work(conn: AsyncConnection) -> StudentOut:
            return await store.get_student(conn, await store.create_student(conn, data, self.clock))

        return await self.db.run(work)

    async def update(self, student_id: int, patch: StudentPatch) -> StudentOut:
        async def work(conn: AsyncConnection) -> StudentOut:
            await store.update_student(conn, student_id, patch)
            return await store.get_student(conn, student_id)

        return await self.db.run(work)
