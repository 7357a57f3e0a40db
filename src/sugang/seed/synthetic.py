"""Deterministic synthetic terms for tests and benchmarks: N students, M sections, K hot.

The same arguments always give the same term, students and sections. Running it again resets
the term's enrollments, waitlists and baskets, so every benchmark starts from empty seats.
Every synthetic student shares one password (and one argon2id hash, computed once): hashing
thousands of distinct passwords would take minutes and test nothing that logging in does not.
"""

import csv
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.audit import AuditEntry
from sugang.auth.models import User
from sugang.auth.passwords import hash_password
from sugang.catalog.cache import bump_catalog_version
from sugang.catalog.models import Course, Department, EnrollmentWindow, MeetingTime, Section, Term
from sugang.clock import Clock
from sugang.enrollment.models import BasketEntry, Enrollment, WaitlistEntry
from sugang.students.models import Student

CREDITS_PER_COURSE = 3
# 5 days x 10 periods of 75 minutes from 09:00: hot sections each get a period of their own.
PERIODS = [(day, 9 * 60 + 90 * p) for p in range(6) for day in range(5)] + [
    (day, 18 * 60) for day in range(5)
]


@dataclass(frozen=True)
class SyntheticSpec:
    students: int
    courses: int
    hot: int
    seed: int = 1
    capacity: int = 40
    hot_capacity: int | None = None
    max_credits: int = 18

    def __post_init__(self) -> None:
        if self.students < 1 or self.courses < 1:
            raise ValueError("students and courses must be at least 1")
        if not 0 <= self.hot <= self.courses:
            raise ValueError("hot must be between 0 and the number of courses")

    @property
    def term_code(self) -> str:
        return f"SYN-{self.seed}"

    @property
    def password(self) -> str:
        return f"synthetic-{self.seed}-pw"

    @property
    def admin_username(self) -> str:
        """A registrar account for the benchmark to steer the waiting room with. Its password
        is random, new at every seeding, and handed back once (SyntheticTerm.admin_password)."""
        return f"synthetic-admin-{self.seed}"

    def student_number(self, index: int) -> str:
        return f"s{self.seed}-{index:06d}"

    def course_code(self, index: int) -> str:
        return f"Y{self.seed}-{index:05d}"


@dataclass
class SyntheticTerm:
    term_id: int
    term_code: str
    student_ids: list[int]
    section_ids: list[int]
    hot_section_ids: list[int]
    password: str
    student_numbers: list[str] = field(default_factory=list)
    admin_password: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "term_id": self.term_id,
            "term_code": self.term_code,
            "students": len(self.student_ids),
            "sections": len(self.section_ids),
            "hot_section_ids": self.hot_section_ids,
        }


async def seed_synthetic(
    conn: AsyncConnection,
    spec: SyntheticSpec,
    clock: Clock,
    *,
    progress: Callable[[str], None] | None = None,
) -> SyntheticTerm:
    say = progress or (lambda _: None)
    now = clock().replace(microsecond=0)
    term_id = await conn.scalar(select(Term.id).where(Term.code == spec.term_code))
    if term_id is None:
        say("creating term and catalog")
        term_id = await _create_term(conn, spec, now)
        department_id = await _department(conn, spec)
        await _create_sections(conn, spec, term_id, department_id)
    else:
        say("resetting enrollments of the existing term")
        sections = (
            await conn.scalars(
                select(Section.id).where(Section.term_id == term_id).order_by(Section.id)
            )
        ).all()
        if len(sections) != spec.courses:
            raise ValueError(
                f"the synthetic term {spec.term_code} exists with {len(sections)} sections, not"
                f" {spec.courses}: use another seed for another shape"
            )
        await _reset_term(conn, term_id, spec, now)
        hot_capacity = spec.hot_capacity or spec.capacity
        await conn.execute(
            update(Section)
            .where(Section.id.in_(sections[: spec.hot]))
            .values(capacity=hot_capacity)
        )
        await conn.execute(
            update(Section)
            .where(Section.id.in_(sections[spec.hot :]))
            .values(capacity=spec.capacity)
        )
    await conn.execute(update(Term).where(Term.id != term_id).values(is_current=False))
    await conn.execute(update(Term).where(Term.id == term_id).values(is_current=True))

    say("creating students")
    student_ids = await _students(conn, spec, now, await _department(conn, spec))
    admin_password = await _admin(conn, spec, now)
    section_ids = list(
        (
            await conn.scalars(
                select(Section.id).where(Section.term_id == term_id).order_by(Section.id)
            )
        ).all()
    )
    await bump_catalog_version(conn)
    return SyntheticTerm(
        term_id=term_id,
        term_code=spec.term_code,
        student_ids=student_ids,
        section_ids=section_ids,
        hot_section_ids=section_ids[: spec.hot],
        password=spec.password,
        student_numbers=[spec.student_number(i) for i in range(spec.students)],
        admin_password=admin_password,
    )


def write_credentials(path: Path, term: SyntheticTerm) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["student_number", "password"])
        for number in term.student_numbers:
            writer.writerow([number, term.password])


async def _create_term(conn: AsyncConnection, spec: SyntheticSpec, now: datetime) -> int:
    day = timedelta(days=1)
    term_id = await conn.scalar(
        insert(Term)
        .values(
            code=spec.term_code,
            name_ko=f"합성 학기 {spec.seed}",
            name_en=f"Synthetic term {spec.seed}",
            is_current=True,
            basket_opens_at=now - 7 * day,
            basket_closes_at=now + 7 * day,
            add_drop_opens_at=now + 7 * day,
            add_drop_closes_at=now + 14 * day,
        )
        .returning(Term.id)
    )
    assert term_id is not None
    await conn.execute(
        insert(EnrollmentWindow).values(
            term_id=term_id, year_group=None, opens_at=now - day, closes_at=now + 7 * day
        )
    )
    return int(term_id)


async def _department(conn: AsyncConnection, spec: SyntheticSpec) -> int:
    code = f"SYN{spec.seed}"[:16]
    found = await conn.scalar(select(Department.id).where(Department.code == code))
    if found is not None:
        return int(found)
    created = await conn.scalar(
        insert(Department)
        .values(code=code, name_ko=f"합성학과 {spec.seed}", name_en=f"Synthetic {spec.seed}")
        .returning(Department.id)
    )
    assert created is not None
    return int(created)


async def _create_sections(
    conn: AsyncConnection, spec: SyntheticSpec, term_id: int, department_id: int
) -> None:
    existing = {
        r.code: r.id
        for r in await conn.execute(
            select(Course.code, Course.id).where(Course.department_id == department_id)
        )
    }
    missing = [i for i in range(spec.courses) if spec.course_code(i) not in existing]
    if missing:
        await conn.execute(
            insert(Course),
            [
                {
                    "code": spec.course_code(i),
                    "title_ko": f"합성 과목 {i}",
                    "title_en": f"Synthetic course {i}",
                    "credits": CREDITS_PER_COURSE,
                    "department_id": department_id,
                }
                for i in missing
            ],
        )
    course_ids = {
        r.code: r.id
        for r in await conn.execute(
            select(Course.code, Course.id).where(Course.department_id == department_id)
        )
    }
    hot_capacity = spec.hot_capacity or spec.capacity
    section_ids = []
    for i in range(spec.courses):
        section_id = await conn.scalar(
            insert(Section)
            .values(
                term_id=term_id,
                course_id=course_ids[spec.course_code(i)],
                number=1,
                capacity=hot_capacity if i < spec.hot else spec.capacity,
                enrolled=0,
                status="open",
                instructor_name=f"Instructor {i % 37}",
            )
            .returning(Section.id)
        )
        section_ids.append(section_id)
    await conn.execute(
        insert(MeetingTime),
        [
            {
                "section_id": section_id,
                "day": PERIODS[i % len(PERIODS)][0],
                "start_minute": PERIODS[i % len(PERIODS)][1],
                "end_minute": PERIODS[i % len(PERIODS)][1] + 75,
                "room": f"R{100 + i % 50}",
            }
            for i, section_id in enumerate(section_ids)
        ],
    )


async def _reset_term(
    conn: AsyncConnection, term_id: int, spec: SyntheticSpec, now: datetime
) -> None:
    section_ids = select(Section.id).where(Section.term_id == term_id).scalar_subquery()
    await conn.execute(delete(Enrollment).where(Enrollment.term_id == term_id))
    await conn.execute(delete(WaitlistEntry).where(WaitlistEntry.section_id.in_(section_ids)))
    await conn.execute(delete(BasketEntry).where(BasketEntry.section_id.in_(section_ids)))
    await conn.execute(delete(AuditEntry).where(AuditEntry.section_id.in_(section_ids)))
    await conn.execute(update(Section).where(Section.term_id == term_id).values(enrolled=0))
    day = timedelta(days=1)
    await conn.execute(
        update(EnrollmentWindow)
        .where(EnrollmentWindow.term_id == term_id)
        .values(opens_at=now - day, closes_at=now + 7 * day)
    )


async def _students(
    conn: AsyncConnection, spec: SyntheticSpec, now: datetime, department_id: int
) -> list[int]:
    numbers = [spec.student_number(i) for i in range(spec.students)]
    existing = {
        r.username: r.id
        for r in await conn.execute(
            select(User.username, User.id).where(User.username.like(f"s{spec.seed}-%"))
        )
    }
    missing = [n for n in numbers if n not in existing]
    if missing:
        password_hash = await hash_password(spec.password)
        years = random.Random(spec.seed)
        await conn.execute(
            insert(User),
            [
                {
                    "username": n,
                    "name": f"Student {n}",
                    "role": "student",
                    "password_hash": password_hash,
                    "created_at": now,
                }
                for n in missing
            ],
        )
        created = {
            r.username: r.id
            for r in await conn.execute(
                select(User.username, User.id).where(User.username.in_(missing))
            )
        }
        await conn.execute(
            insert(Student),
            [
                {
                    "id": created[n],
                    "year": years.randint(1, 4),
                    "department_id": department_id,
                    "max_credits": spec.max_credits,
                }
                for n in missing
            ],
        )
        existing.update(created)
    return [existing[n] for n in numbers]


async def _admin(conn: AsyncConnection, spec: SyntheticSpec, now: datetime) -> str:
    """The registrar account with a new random password (never a known one: the seed may
    run against a real database, docs/k3s.md)."""
    password = secrets.token_urlsafe(18)
    password_hash = await hash_password(password)
    existing = await conn.scalar(select(User.id).where(User.username == spec.admin_username))
    if existing is not None:
        await conn.execute(
            update(User).where(User.id == existing).values(password_hash=password_hash)
        )
        return password
    await conn.execute(
        insert(User).values(
            username=spec.admin_username,
            name=f"Synthetic registrar {spec.seed}",
            role="admin",
            password_hash=password_hash,
            created_at=now,
        )
    )
    return password
