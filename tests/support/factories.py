"""Test data through the real service functions, with short defaults."""

import itertools
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text

from sugang.auth.passwords import hash_password_sync
from sugang.auth.store import create_user
from sugang.catalog import store as catalog
from sugang.catalog.schemas import (
    CourseIn,
    DepartmentIn,
    MeetingTimeIn,
    SectionIn,
    TermIn,
    WindowIn,
    parse_meeting_times,
)
from sugang.runtime import Services
from sugang.students.schemas import StudentIn
from sugang.students.store import create_student

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password_sync(PASSWORD)
_serial = itertools.count(1)


class Factory:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db
        self._department: str | None = None

    @property
    def now(self) -> Any:
        return self.services.clock()

    async def term(
        self,
        *,
        code: str | None = None,
        windows: list[WindowIn] | None = None,
        basket_open: bool = True,
        current: bool = True,
    ) -> int:
        now, day = self.now, timedelta(days=1)
        basket = (
            WindowIn(opens_at=now - day, closes_at=now + day)
            if basket_open
            else WindowIn(opens_at=now - 3 * day, closes_at=now - 2 * day)
        )
        data = TermIn(
            code=code or f"T{next(_serial)}",
            name_ko="테스트 학기",
            name_en="Test term",
            is_current=current,
            basket=basket,
            add_drop=WindowIn(opens_at=now + 10 * day, closes_at=now + 12 * day),
            enrollment_windows=windows
            if windows is not None
            else [WindowIn(opens_at=now - timedelta(minutes=1), closes_at=now + day)],
        )
        async with self.db.transaction() as conn:
            return await catalog.create_term(conn, data)

    async def department(self) -> str:
        if self._department is None:
            code = f"D{next(_serial)}"
            async with self.db.transaction() as conn:
                await catalog.create_department(
                    conn, DepartmentIn(code=code, name_ko="테스트학과", name_en="Testing")
                )
            self._department = code
        return self._department

    async def course(
        self, *, credits: int = 3, prerequisites: list[str] | None = None, code: str | None = None
    ) -> str:
        code = code or f"C{next(_serial):04d}"
        department = await self.department()
        async with self.db.transaction() as conn:
            await catalog.create_course(
                conn,
                CourseIn(
                    code=code,
                    title_ko=f"과목 {code}",
                    title_en=f"Course {code}",
                    credits=credits,
                    department_code=department,
                    prerequisite_codes=prerequisites or [],
                ),
            )
        return code

    async def section(
        self,
        term_id: int,
        *,
        course: str | None = None,
        capacity: int = 30,
        meets: str = "",
        number: int = 1,
        credits: int = 3,
        prerequisites: list[str] | None = None,
        instructor: str | None = None,
        status: str = "open",
    ) -> int:
        course = course or await self.course(credits=credits, prerequisites=prerequisites)
        meetings: list[MeetingTimeIn] = parse_meeting_times(meets)
        async with self.db.transaction() as conn:
            return await catalog.create_section(
                conn,
                SectionIn(
                    term_id=term_id,
                    course_code=course,
                    number=number,
                    capacity=capacity,
                    meeting_times=meetings,
                    instructor_username=instructor,
                    status=status,
                ),
            )

    async def student(
        self,
        *,
        year: int = 3,
        max_credits: int = 18,
        completed: list[str] | None = None,
        number: str | None = None,
    ) -> int:
        data = StudentIn(
            student_number=number or f"2027{next(_serial):05d}",
            name="학생",
            year=year,
            max_credits=max_credits,
            password=PASSWORD,
            completed_course_codes=completed or [],
        )
        async with self.db.transaction() as conn:
            return await create_student(
                conn, data, self.services.clock, password_hash=_PASSWORD_HASH
            )

    async def students(self, count: int, **kwargs: Any) -> list[int]:
        return [await self.student(**kwargs) for _ in range(count)]

    async def staff(self, role: str = "admin", username: str | None = None) -> str:
        username = username or f"{role}{next(_serial)}"
        async with self.db.transaction() as conn:
            await create_user(
                conn,
                username=username,
                name=username,
                role=role,  # type: ignore[arg-type]
                password=PASSWORD,
                clock=self.services.clock,
            )
        return username

    async def username_of(self, user_id: int) -> str:
        async with self.db.transaction(write=False) as conn:
            name = await conn.scalar(
                text("SELECT username FROM users WHERE id = :id"), {"id": user_id}
            )
        assert name is not None
        return str(name)

    # --- observations ----------------------------------------------------------------

    async def count(self, table: str, **where: Any) -> int:
        clause = " AND ".join(f"{k} = :{k}" for k in where) or "1 = 1"
        async with self.db.transaction(write=False) as conn:
            return int(
                await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE {clause}"), where) or 0
            )

    async def seats(self, section_id: int) -> tuple[int, int]:
        """(the section's counter, the number of enrollment rows)."""
        async with self.db.transaction(write=False) as conn:
            counter = await conn.scalar(
                text("SELECT enrolled FROM sections WHERE id = :id"), {"id": section_id}
            )
            rows = await conn.scalar(
                select(func.count())
                .select_from(text("enrollments"))
                .where(text("section_id = :id")),
                {"id": section_id},
            )
        return int(counter or 0), int(rows or 0)

    async def audit_actions(self, student_id: int) -> list[tuple[str, str]]:
        async with self.db.transaction(write=False) as conn:
            rows = await conn.execute(
                text("SELECT action, outcome FROM audit_log WHERE student_id = :s ORDER BY id"),
                {"s": student_id},
            )
            return [(r.action, r.outcome) for r in rows]


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def student_client(
    client: httpx.AsyncClient, factory: Factory, **kw: object
) -> tuple[int, dict[str, str]]:
    """A new student, logged in: their id and request headers."""
    student = await factory.student(**kw)  # type: ignore[arg-type]
    return student, await login(client, await factory.username_of(student))
