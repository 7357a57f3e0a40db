"""Students in the database (a user row plus a student row), inside the caller's transaction."""

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.models import User
from sugang.auth.passwords import hash_password
from sugang.auth.revocations import revoke, revoke_deleted
from sugang.catalog.models import Course, Department
from sugang.catalog.store import department_id_of
from sugang.clock import Clock
from sugang.errors import Conflict, NotFound
from sugang.students.models import Student, completed_courses
from sugang.students.schemas import StudentIn, StudentOut, StudentPage, StudentPatch


async def create_student(
    conn: AsyncConnection, data: StudentIn, clock: Clock, *, password_hash: str | None = None
) -> int:
    if await conn.scalar(select(User.id).where(User.username == data.student_number)):
        raise Conflict(
            reason=f"student number {data.student_number} is taken",
            reason_ko=f"이미 있는 학번입니다: {data.student_number}",
        )
    department_id = (
        await department_id_of(conn, data.department_code) if data.department_code else None
    )
    course_ids = await _course_ids(conn, data.completed_course_codes)
    user_id = await conn.scalar(
        insert(User)
        .values(
            username=data.student_number,
            name=data.name,
            role="student",
            password_hash=password_hash or await hash_password(data.password),
            created_at=clock(),
        )
        .returning(User.id)
    )
    assert user_id is not None
    await conn.execute(
        insert(Student).values(
            id=user_id, year=data.year, department_id=department_id, max_credits=data.max_credits
        )
    )
    await _set_completed(conn, user_id, course_ids)
    return int(user_id)


async def update_student(
    conn: AsyncConnection, student_id: int, patch: StudentPatch, clock: Clock
) -> None:
    """Apply the edit; a new password voids every token the student holds."""
    await _require_student(conn, student_id)
    user_values: dict[str, object] = {}
    if patch.name is not None:
        user_values["name"] = patch.name
    if patch.password is not None:
        user_values["password_hash"] = await hash_password(patch.password)
    if user_values:
        await conn.execute(update(User).where(User.id == student_id).values(**user_values))
    if patch.password is not None:
        await revoke(conn, student_id, clock())
    student_values: dict[str, object] = {}
    if patch.year is not None:
        student_values["year"] = patch.year
    if patch.max_credits is not None:
        student_values["max_credits"] = patch.max_credits
    if "department_code" in patch.model_fields_set:
        student_values["department_id"] = (
            await department_id_of(conn, patch.department_code) if patch.department_code else None
        )
    # Whatever changed, an enrollment judged on the old facts must be judged again.
    await conn.execute(
        update(Student)
        .where(Student.id == student_id)
        .values(version=Student.version + 1, **student_values)
    )
    if patch.completed_course_codes is not None:
        course_ids = await _course_ids(conn, patch.completed_course_codes)
        await conn.execute(
            delete(completed_courses).where(completed_courses.c.student_id == student_id)
        )
        await _set_completed(conn, student_id, course_ids)


async def delete_student(conn: AsyncConnection, student_id: int, clock: Clock) -> None:
    """Delete the user and all that hangs on them (the caller has dropped their seats); their
    tokens are void, and their id is never given to anyone else."""
    await conn.execute(delete(User).where(User.id == student_id))
    await revoke_deleted(conn, student_id, clock())


async def get_student(conn: AsyncConnection, student_id: int) -> StudentOut:
    found = await _student_views(conn, [Student.id == student_id])
    if not found:
        raise NotFound(what="student", what_ko="학생", student_id=student_id)
    return found[0]


async def list_students(
    conn: AsyncConnection, *, q: str | None, page: int, page_size: int
) -> StudentPage:
    where = []
    if q:
        pattern = f"%{q.strip()}%"
        where.append(or_(User.username.ilike(pattern), User.name.ilike(pattern)))
    total = await conn.scalar(
        select(func.count()).select_from(Student).join(User, User.id == Student.id).where(*where)
    )
    items = await _student_views(conn, where, page=page, page_size=page_size)
    return StudentPage(items=items, page=page, page_size=page_size, total=total or 0)


async def _student_views(
    conn: AsyncConnection, where: Sequence[object], page: int = 1, page_size: int = 1
) -> list[StudentOut]:
    rows = (
        await conn.execute(
            select(
                Student.id,
                User.username,
                User.name,
                Student.year,
                Department.code.label("department_code"),
                Student.max_credits,
            )
            .join(User, User.id == Student.id)
            .outerjoin(Department, Department.id == Student.department_id)
            .where(*where)  # type: ignore[arg-type]
            .order_by(User.username)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    completed: dict[int, list[str]] = {}
    if rows:
        for r in await conn.execute(
            select(completed_courses.c.student_id, Course.code)
            .join(Course, Course.id == completed_courses.c.course_id)
            .where(completed_courses.c.student_id.in_([r.id for r in rows]))
            .order_by(Course.code)
        ):
            completed.setdefault(r.student_id, []).append(r.code)
    return [
        StudentOut(
            id=r.id,
            student_number=r.username,
            name=r.name,
            year=r.year,
            department_code=r.department_code,
            max_credits=r.max_credits,
            completed_course_codes=completed.get(r.id, []),
        )
        for r in rows
    ]


async def _require_student(conn: AsyncConnection, student_id: int) -> None:
    if await conn.scalar(select(Student.id).where(Student.id == student_id)) is None:
        raise NotFound(what="student", what_ko="학생", student_id=student_id)


async def _course_ids(conn: AsyncConnection, codes: Sequence[str]) -> list[int]:
    if not codes:
        return []
    rows = (await conn.execute(select(Course.id, Course.code).where(Course.code.in_(codes)))).all()
    missing = sorted(set(codes) - {r.code for r in rows})
    if missing:
        raise NotFound(what=f"course(s) {', '.join(missing)}", what_ko=f"과목 {', '.join(missing)}")
    return [r.id for r in rows]


async def _set_completed(conn: AsyncConnection, student_id: int, course_ids: list[int]) -> None:
    if course_ids:
        await conn.execute(
            insert(completed_courses),
            [{"student_id": student_id, "course_id": cid} for cid in course_ids],
        )
