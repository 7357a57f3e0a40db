"""Students from CSV. New students take defaults for absent columns and need a password;
existing ones (by student number) keep the fields whose column is absent."""

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth import store as auth_store
from sugang.auth.models import User
from sugang.auth.passwords import hash_password
from sugang.auth.revocations import revoke
from sugang.clock import Clock
from sugang.registrar.imports.rows import (
    ImportReport,
    Row,
    RowError,
    split,
    validation_errors,
    write_row,
)
from sugang.students import store as students_store
from sugang.students.schemas import StudentIn, StudentPatch


@dataclass
class StudentRow:
    number: int
    data: StudentIn | None  # None: no password given, so only an existing student can take it
    patch: StudentPatch
    student_number: str
    password: str | None
    password_hash: str | None = None


class StudentsImport:
    columns = (
        "student_number",
        "name",
        "year",
        "department_code",
        "max_credits",
        "password",
        "completed_courses",
    )
    optional = frozenset({"completed_courses", "max_credits", "department_code", "password"})

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def parse(self, rows: list[Row], report: ImportReport) -> list[StudentRow]:
        parsed, seen = [], set()
        for number, row in rows:
            student_number = row.get("student_number", "")
            password = row.get("password") or None
            changes: dict[str, Any] = {"name": row.get("name", ""), "year": row.get("year", "")}
            if "department_code" in row:
                changes["department_code"] = row["department_code"] or None
            if row.get("max_credits"):
                changes["max_credits"] = row["max_credits"]
            if "completed_courses" in row:
                changes["completed_course_codes"] = split(row["completed_courses"])
            try:
                patch = StudentPatch(**changes, password=password)
                data = (
                    StudentIn(student_number=student_number, **changes, password=password)
                    if password
                    else None
                )
            except ValidationError as error:
                report.errors.extend(validation_errors(number, error))
                continue
            if student_number in seen:
                report.errors.append(RowError(number, "student_number", "appears twice"))
            seen.add(student_number)
            parsed.append(StudentRow(number, data, patch, student_number, password))
        return parsed

    async def prepare(self, parsed: list[StudentRow]) -> None:
        """Hash the passwords before the transaction (a hash takes tens of milliseconds)."""

        async def one(row: StudentRow) -> None:
            if row.password:
                row.password_hash = await hash_password(row.password)

        await asyncio.gather(*(one(r) for r in parsed))

    async def write(
        self, conn: AsyncConnection, parsed: list[StudentRow], report: ImportReport
    ) -> None:
        numbers = [row.student_number for row in parsed]
        existing = {
            r.username: r.id
            for r in await conn.execute(
                select(User.username, User.id).where(User.username.in_(numbers))
            )
        }
        for row in parsed:
            student_id = existing.get(row.student_number)
            if student_id is not None:
                patch = row.patch.model_copy(update={"password": None})
                await write_row(
                    report,
                    row.number,
                    students_store.update_student(conn, student_id, patch, self.clock),
                )
                if row.password_hash:  # a new password: their tokens are void
                    await auth_store.replace_hash(conn, student_id, row.password_hash)
                    await revoke(conn, student_id, self.clock())
                report.updated += 1
            elif row.data is None:
                report.errors.append(
                    RowError(row.number, "password", "a new student needs a password")
                )
            else:
                await write_row(
                    report,
                    row.number,
                    students_store.create_student(
                        conn, row.data, self.clock, password_hash=row.password_hash
                    ),
                )
                report.created += 1
