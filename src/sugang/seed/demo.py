"""The demo a new user sees after `make run`: a Korean/English catalog with open windows."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.auth.passwords import hash_password
from sugang.auth.store import create_user
from sugang.catalog import store as catalog
from sugang.catalog.models import Term
from sugang.catalog.schemas import (
    CourseIn,
    DepartmentIn,
    SectionIn,
    TermIn,
    WindowIn,
    parse_meeting_times,
)
from sugang.clock import Clock
from sugang.students.schemas import StudentIn
from sugang.students.store import create_student

DEMO_TERM = "2027-1"
DEMO_PASSWORD = "sugang-demo-2027"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    name: str
    password: str = DEMO_PASSWORD


DEPARTMENTS = [
    ("CSE", "컴퓨터공학과", "Computer Science and Engineering"),
    ("MATH", "수학과", "Mathematics"),
    ("BUS", "경영학과", "Business Administration"),
    ("KOR", "국어국문학과", "Korean Language and Literature"),
    ("PHYS", "물리학과", "Physics"),
]

# code, title_ko, title_en, credits, department, prerequisites
COURSES = [
    ("CSE1001", "컴퓨터프로그래밍", "Computer Programming", 3, "CSE", []),
    ("CSE2010", "자료구조", "Data Structures", 3, "CSE", ["CSE1001"]),
    ("CSE3030", "운영체제", "Operating Systems", 3, "CSE", ["CSE2010"]),
    ("CSE3080", "데이터베이스", "Database Systems", 3, "CSE", ["CSE2010"]),
    ("CSE4100", "분산시스템", "Distributed Systems", 3, "CSE", ["CSE3030"]),
    ("MATH1010", "미적분학 I", "Calculus I", 3, "MATH", []),
    ("MATH2020", "선형대수", "Linear Algebra", 3, "MATH", []),
    ("MATH3050", "확률과 통계", "Probability and Statistics", 3, "MATH", ["MATH1010"]),
    ("BUS1001", "경영학원론", "Principles of Management", 3, "BUS", []),
    ("BUS2030", "마케팅원론", "Principles of Marketing", 3, "BUS", []),
    ("KOR1001", "글쓰기와 소통", "Writing and Communication", 2, "KOR", []),
    ("KOR2050", "한국현대문학", "Modern Korean Literature", 3, "KOR", []),
    ("PHYS1001", "일반물리학 I", "General Physics I", 3, "PHYS", []),
    ("PHYS1011", "일반물리실험 I", "General Physics Lab I", 1, "PHYS", []),
]

# course, section number, capacity, professor user name, instructor name, meeting times
SECTIONS = [
    ("CSE1001", 1, 40, "kim.cs", "김민준", "Mon 09:00-10:15 공학관301; Wed 09:00-10:15 공학관301"),
    ("CSE1001", 2, 40, "kim.cs", "김민준", "Tue 13:30-14:45 공학관301; Thu 13:30-14:45 공학관301"),
    ("CSE2010", 1, 35, "lee.cs", "이서연", "Mon 10:30-11:45 공학관402; Wed 10:30-11:45 공학관402"),
    ("CSE3030", 1, 30, "lee.cs", "이서연", "Tue 10:30-11:45 공학관402; Thu 10:30-11:45 공학관402"),
    ("CSE3080", 1, 3, "kim.cs", "김민준", "Mon 13:30-14:45 공학관505; Wed 13:30-14:45 공학관505"),
    ("CSE4100", 1, 25, "lee.cs", "이서연", "Fri 09:00-11:45 공학관505"),
    (
        "MATH1010",
        1,
        60,
        "park.math",
        "박지훈",
        "Mon 09:00-10:15 자연관101; Wed 09:00-10:15 자연관101",
    ),
    (
        "MATH1010",
        2,
        60,
        "park.math",
        "박지훈",
        "Tue 09:00-10:15 자연관101; Thu 09:00-10:15 자연관101",
    ),
    (
        "MATH2020",
        1,
        50,
        "park.math",
        "박지훈",
        "Tue 15:00-16:15 자연관204; Thu 15:00-16:15 자연관204",
    ),
    (
        "MATH3050",
        1,
        40,
        "park.math",
        "박지훈",
        "Mon 15:00-16:15 자연관204; Wed 15:00-16:15 자연관204",
    ),
    (
        "BUS1001",
        1,
        80,
        "choi.bus",
        "최유진",
        "Tue 10:30-11:45 경영관B101; Thu 10:30-11:45 경영관B101",
    ),
    ("BUS2030", 1, 2, "choi.bus", "최유진", "Fri 13:00-15:45 경영관B203"),
    ("KOR1001", 1, 25, "jung.kor", "정하늘", "Wed 16:30-18:20 인문관310"),
    (
        "KOR2050",
        1,
        40,
        "jung.kor",
        "정하늘",
        "Mon 16:30-17:45 인문관201; Wed 16:30-17:45 인문관201",
    ),
    (
        "PHYS1001",
        1,
        60,
        "park.math",
        "박지훈",
        "Tue 13:30-14:45 자연관301; Thu 13:30-14:45 자연관301",
    ),
    ("PHYS1011", 1, 20, "park.math", "박지훈", "Fri 15:00-16:50 자연관B02"),
]

PROFESSORS = [
    ("kim.cs", "김민준"),
    ("lee.cs", "이서연"),
    ("park.math", "박지훈"),
    ("choi.bus", "최유진"),
    ("jung.kor", "정하늘"),
]

# student number, name, year, department, completed courses
STUDENTS = [
    ("20230001", "홍길동", 4, "CSE", ["CSE1001", "CSE2010", "MATH1010"]),
    ("20240002", "김하은", 3, "CSE", ["CSE1001"]),
    ("20250003", "이도윤", 2, "MATH", ["MATH1010"]),
    ("20260004", "박서준", 1, "BUS", []),
    ("20220005", "Emma Wilson", 4, "KOR", ["KOR1001"]),
    ("20250006", "최지우", 2, "PHYS", []),
]


async def demo_present(conn: AsyncConnection) -> bool:
    return await conn.scalar(select(Term.id).where(Term.code == DEMO_TERM)) is not None


async def seed_demo(conn: AsyncConnection, clock: Clock) -> list[DemoAccount]:
    """Create the demo term, catalog and accounts; registration is open from now on."""
    now = clock().replace(microsecond=0)
    hour, day = timedelta(hours=1), timedelta(days=1)
    term_id = await catalog.create_term(
        conn,
        TermIn(
            code=DEMO_TERM,
            name_ko="2027학년도 1학기",
            name_en="Spring 2027",
            is_current=True,
            basket=WindowIn(opens_at=now - 7 * day, closes_at=now + 30 * day),
            add_drop=WindowIn(opens_at=now + 30 * day, closes_at=now + 37 * day),
            enrollment_windows=[
                WindowIn(year_group=year, opens_at=now - hour, closes_at=now + 30 * day)
                for year in (4, 3, 2, 1)
            ],
        ),
    )
    for code, name_ko, name_en in DEPARTMENTS:
        await catalog.create_department(
            conn, DepartmentIn(code=code, name_ko=name_ko, name_en=name_en)
        )
    for code, title_ko, title_en, credits, department, prerequisites in COURSES:
        await catalog.create_course(
            conn,
            CourseIn(
                code=code,
                title_ko=title_ko,
                title_en=title_en,
                credits=credits,
                department_code=department,
                prerequisite_codes=prerequisites,
            ),
        )
    accounts = [DemoAccount("admin", "admin", "학사관리자 Registrar")]
    await create_user(
        conn,
        username="admin",
        name=accounts[0].name,
        role="admin",
        password=DEMO_PASSWORD,
        clock=clock,
    )
    for username, name in PROFESSORS:
        await create_user(
            conn,
            username=username,
            name=name,
            role="professor",
            password=DEMO_PASSWORD,
            clock=clock,
        )
        accounts.append(DemoAccount(username, "professor", name))
    for course, number, capacity, professor, instructor, meetings in SECTIONS:
        await catalog.create_section(
            conn,
            SectionIn(
                term_id=term_id,
                course_code=course,
                number=number,
                capacity=capacity,
                instructor_username=professor,
                instructor_name=instructor,
                meeting_times=parse_meeting_times(meetings),
            ),
        )
    password_hash = await hash_password(DEMO_PASSWORD)
    for student_number, name, year, department, completed in STUDENTS:
        await create_student(
            conn,
            StudentIn(
                student_number=student_number,
                name=name,
                year=year,
                department_code=department,
                password=DEMO_PASSWORD,
                completed_course_codes=completed,
            ),
            clock,
            password_hash=password_hash,
        )
        accounts.append(DemoAccount(student_number, "student", name))
    return accounts
