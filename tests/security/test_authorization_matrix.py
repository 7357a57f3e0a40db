"""The authorization matrix: every route the app serves, who may call it and what everyone
else is told, declared in one table and checked with a real request per route and caller.

A route the app gains without a line in MATRIX fails here until someone says who may call
it; a line whose route is gone fails too. Each route gets a world of its own (a term,
sections taught by two professors, two students with enrollments and a basket: one seeded
world copied per route on SQLite, seeded per route on PostgreSQL), so the mutating calls
need no order between routes; within a route the refused callers go first, so a refusal
that changed anything shows up as the owner's own call failing after it.
"""

import asyncio
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from starlette.routing import Mount

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.db import Database
from sugang.runtime import Services
from sugang.web import pages
from tests.support.databases import OPENING, TEST_SECRET, truncate
from tests.support.factories import PASSWORD, Factory, login, student_client

try:  # FastAPI 0.16x keeps an included router whole: its routes are reached through it
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copies every included route onto the app

    def iter_route_contexts(routes: Any) -> Iterator[Any]:  # type: ignore[misc]
        return iter(routes)


Caller = Literal[
    "anonymous", "student", "other_student", "professor", "other_professor", "registrar"
]
CALLERS: tuple[Caller, ...] = get_args(Caller)
Refusal = tuple[int, str]  # the status and the answer's `code`
NOT_LOGGED_IN: Refusal = (401, "NOT_AUTHENTICATED")
WRONG_ROLE: Refusal = (403, "FORBIDDEN")

UI_BUILT = (pages.DIST / "index.html").is_file()
NEW_PASSWORD = "another-horse-battery"


@dataclass(frozen=True)
class Rule:
    """Who may call a route; everyone not allowed gets `refused[caller]`."""

    who: str
    refused: Mapping[Caller, Refusal] = field(default_factory=dict)

    @property
    def decided_by_a_query(self) -> bool:
        """Whether the answer depends on whose object it is, not on the role alone."""
        return any(
            self.refused.get(other) != self.refused.get(owner)
            for owner, other in (("student", "other_student"), ("professor", "other_professor"))
        )

    def with_refusal(self, who: str, caller: Caller, refusal: Refusal) -> "Rule":
        return Rule(who, {**self.refused, caller: refusal})


PUBLIC = Rule("public")
LOGGED_IN = Rule("any logged-in user", {"anonymous": NOT_LOGGED_IN})
STUDENTS = Rule(
    "students, each their own",
    {
        "anonymous": NOT_LOGGED_IN,
        "professor": WRONG_ROLE,
        "other_professor": WRONG_ROLE,
        "registrar": WRONG_ROLE,
    },
)
STAFF = Rule(
    "professors and the registrar, each their own",
    {"anonymous": NOT_LOGGED_IN, "student": WRONG_ROLE, "other_student": WRONG_ROLE},
)
REGISTRAR = Rule(
    "the registrar only",
    {caller: WRONG_ROLE for caller in CALLERS if caller != "registrar"}
    | {"anonymous": NOT_LOGGED_IN},
)
SECTION_STAFF = STAFF.with_refusal(
    "the section's own professor and the registrar (another professor: 403)",
    "other_professor",
    WRONG_ROLE,
)


def owner_only(code: str) -> Rule:
    """A student's own object: another student is told it is not there (404), never that it
    is someone else's."""
    return STUDENTS.with_refusal(
        f"the student whose it is (another student: 404 {code})", "other_student", (404, code)
    )


@dataclass
class World:
    """The objects a route's path and body refer to, and every caller's headers."""

    term: int
    spare_term: int  # no sections: the registrar may delete it
    department: str
    course: int
    spare_course: int  # no sections: the registrar may delete it, or open a section of it
    spare_course_code: str
    section_a: int  # taught by `professor`; `student` is enrolled in it
    section_b: int  # taught by `other_professor`; `other_student`'s, and in `student`'s basket
    open_section: int  # nobody in it: both students may enroll; the registrar may delete it
    student: int
    other_student: int
    other_professor: int
    headers: dict[Caller, dict[str, str]]
    student_number: str
    ticket: str = ""  # `student`'s waiting-room ticket, admitted (rush worlds only)


@dataclass(frozen=True)
class SeededWorld:
    path: Path
    world: World


@dataclass(frozen=True)
class Call:
    """One request to a route, with real objects in its path and a valid body, so that a
    refusal is the route's answer to the caller and not to a malformed request."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Entry:
    rule: Rule
    call: Callable[[World], Call]
    ok: tuple[int, ...] = ()  # the allowed callers' answer; default: any 2xx
    rush: bool = False  # the world's term in rush mode, with `student`'s ticket admitted
    present: bool = True  # False: the route exists only in some builds


def path(p: str) -> Callable[[World], Call]:
    return lambda w: Call(p)


def _term(code: str) -> dict[str, Any]:
    window = {"opens_at": "2027-02-01T00:00:00+09:00", "closes_at": "2027-02-10T00:00:00+09:00"}
    return {"code": code, "name_ko": "새", "name_en": "New", "basket": window, "add_drop": window}


_IMPORT = {
    "file": ("departments.csv", "code,name_ko,name_en\nNEWD,새 학과,New\n".encode(), "text/csv")
}

MATRIX: dict[tuple[str, str], Entry] = {
    # --- system ----------------------------------------------------------------------------
    ("GET", "/healthz"): Entry(PUBLIC, path("/healthz")),
    ("GET", "/readyz"): Entry(PUBLIC, path("/readyz")),
    # Public on the main port only while SUGANG_METRICS_PORT is unset; with it set, /metrics
    # is answered on that port alone (tests/security/test_metrics_port.py).
    ("GET", "/metrics"): Entry(PUBLIC, path("/metrics")),
    ("GET", "/api/v1/time"): Entry(PUBLIC, path("/api/v1/time")),
    # --- the web UI (/ answers 503 "not built" until `make web`; /assets exists once built)
    ("GET", "/"): Entry(PUBLIC, path("/"), ok=(200,) if UI_BUILT else (503,)),
    ("HEAD", "/"): Entry(PUBLIC, path("/"), ok=(200,) if UI_BUILT else (503,)),
    ("GET", "/assets/{path}"): Entry(
        PUBLIC, lambda w: Call(f"/assets/{first_asset()}"), present=UI_BUILT
    ),
    ("HEAD", "/assets/{path}"): Entry(
        PUBLIC, lambda w: Call(f"/assets/{first_asset()}"), present=UI_BUILT
    ),
    # The API explorer: served outside production only (tests/security/test_headers.py).
    **{
        (method, docs): Entry(PUBLIC, path(docs))
        for docs in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for method in ("GET", "HEAD")
    },
    # --- logging in, and one's own account -------------------------------------------------
    ("POST", "/api/v1/auth/token"): Entry(
        PUBLIC,
        lambda w: Call(
            "/api/v1/auth/token", data={"username": w.student_number, "password": PASSWORD}
        ),
    ),
    ("GET", "/api/v1/me"): Entry(LOGGED_IN, path("/api/v1/me")),
    ("PUT", "/api/v1/me/password"): Entry(
        LOGGED_IN,
        lambda w: Call(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ),
    ),
    # --- the catalog -----------------------------------------------------------------------
    ("GET", "/api/v1/terms/current"): Entry(PUBLIC, path("/api/v1/terms/current")),
    ("GET", "/api/v1/terms/{term_id}"): Entry(PUBLIC, lambda w: Call(f"/api/v1/terms/{w.term}")),
    ("GET", "/api/v1/departments"): Entry(PUBLIC, path("/api/v1/departments")),
    ("GET", "/api/v1/sections"): Entry(LOGGED_IN, path("/api/v1/sections")),
    ("GET", "/api/v1/sections/{section_id}"): Entry(
        LOGGED_IN, lambda w: Call(f"/api/v1/sections/{w.section_a}")
    ),
    # --- the waiting room ------------------------------------------------------------------
    ("POST", "/api/v1/queue/tickets"): Entry(STUDENTS, path("/api/v1/queue/tickets"), rush=True),
    ("GET", "/api/v1/queue/tickets/{ticket}"): Entry(
        owner_only("TICKET_INVALID"),
        lambda w: Call(f"/api/v1/queue/tickets/{w.ticket}"),
        rush=True,
    ),
    ("GET", "/api/v1/queue/tickets/{ticket}/events"): Entry(
        owner_only("TICKET_INVALID"),
        lambda w: Call(f"/api/v1/queue/tickets/{w.ticket}/events"),  # admitted: one event
        rush=True,
    ),
    # --- enrollment and the basket ---------------------------------------------------------
    ("POST", "/api/v1/enrollments"): Entry(
        STUDENTS, lambda w: Call("/api/v1/enrollments", json={"section_id": w.open_section})
    ),
    ("DELETE", "/api/v1/enrollments/{section_id}"): Entry(
        owner_only("NOT_ENROLLED"), lambda w: Call(f"/api/v1/enrollments/{w.section_a}")
    ),
    ("GET", "/api/v1/me/enrollments"): Entry(STUDENTS, path("/api/v1/me/enrollments")),
    ("GET", "/api/v1/me/timetable"): Entry(STUDENTS, path("/api/v1/me/timetable")),
    ("GET", "/api/v1/basket"): Entry(STUDENTS, path("/api/v1/basket")),
    ("POST", "/api/v1/basket"): Entry(
        STUDENTS, lambda w: Call("/api/v1/basket", json={"section_id": w.open_section})
    ),
    ("DELETE", "/api/v1/basket/{section_id}"): Entry(
        owner_only("NOT_IN_BASKET"), lambda w: Call(f"/api/v1/basket/{w.section_b}")
    ),
    ("DELETE", "/api/v1/basket"): Entry(
        owner_only("NOT_IN_BASKET"),
        lambda w: Call("/api/v1/basket", params={"section_id": w.section_b}),
    ),
    # --- professors ------------------------------------------------------------------------
    ("GET", "/api/v1/professor/sections"): Entry(STAFF, path("/api/v1/professor/sections")),
    ("GET", "/api/v1/sections/{section_id}/roster"): Entry(
        SECTION_STAFF, lambda w: Call(f"/api/v1/sections/{w.section_a}/roster")
    ),
    # --- the registrar ---------------------------------------------------------------------
    ("GET", "/api/v1/admin/terms/{term_id}/waiting-room"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/terms/{w.term}/waiting-room")
    ),
    ("PATCH", "/api/v1/admin/terms/{term_id}/waiting-room"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/terms/{w.term}/waiting-room", json={"rate": 50})
    ),
    ("GET", "/api/v1/admin/students"): Entry(REGISTRAR, path("/api/v1/admin/students")),
    ("POST", "/api/v1/admin/students"): Entry(
        REGISTRAR,
        lambda w: Call(
            "/api/v1/admin/students",
            json={
                "student_number": "2099000001",
                "name": "새 학생",
                "year": 1,
                "password": NEW_PASSWORD,
            },
        ),
    ),
    ("GET", "/api/v1/admin/students/{student_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/students/{w.student}")
    ),
    ("PATCH", "/api/v1/admin/students/{student_id}"): Entry(
        REGISTRAR,
        lambda w: Call(f"/api/v1/admin/students/{w.other_student}", json={"name": "고친 이름"}),
    ),
    ("DELETE", "/api/v1/admin/students/{student_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/students/{w.other_student}")
    ),
    ("POST", "/api/v1/admin/users"): Entry(
        REGISTRAR,
        lambda w: Call(
            "/api/v1/admin/users",
            json={
                "username": "newprof",
                "name": "New",
                "role": "professor",
                "password": NEW_PASSWORD,
            },
        ),
    ),
    ("PATCH", "/api/v1/admin/users/{user_id}"): Entry(
        REGISTRAR,
        lambda w: Call(f"/api/v1/admin/users/{w.other_professor}", json={"name": "Renamed"}),
    ),
    ("POST", "/api/v1/admin/import/{kind}"): Entry(
        REGISTRAR, lambda w: Call("/api/v1/admin/import/departments", files=_IMPORT)
    ),
    ("POST", "/api/v1/admin/terms/{term_id}/auto-enroll"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/terms/{w.term}/auto-enroll")
    ),
    ("GET", "/api/v1/admin/audit"): Entry(REGISTRAR, path("/api/v1/admin/audit")),
    ("GET", "/api/v1/admin/terms"): Entry(REGISTRAR, path("/api/v1/admin/terms")),
    ("POST", "/api/v1/admin/terms"): Entry(
        REGISTRAR, lambda w: Call("/api/v1/admin/terms", json=_term("2027-NEW"))
    ),
    ("PATCH", "/api/v1/admin/terms/{term_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/terms/{w.term}", json={"name_en": "Renamed"})
    ),
    ("DELETE", "/api/v1/admin/terms/{term_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/terms/{w.spare_term}")
    ),
    ("POST", "/api/v1/admin/departments"): Entry(
        REGISTRAR,
        lambda w: Call(
            "/api/v1/admin/departments", json={"code": "NEWD", "name_ko": "새", "name_en": "New"}
        ),
    ),
    ("GET", "/api/v1/admin/courses"): Entry(REGISTRAR, path("/api/v1/admin/courses")),
    ("POST", "/api/v1/admin/courses"): Entry(
        REGISTRAR,
        lambda w: Call(
            "/api/v1/admin/courses",
            json={
                "code": "NEW101",
                "title_ko": "새 과목",
                "title_en": "New",
                "credits": 3,
                "department_code": w.department,
            },
        ),
    ),
    ("PATCH", "/api/v1/admin/courses/{course_id}"): Entry(
        REGISTRAR,
        lambda w: Call(f"/api/v1/admin/courses/{w.course}", json={"title_en": "Renamed"}),
    ),
    ("DELETE", "/api/v1/admin/courses/{course_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/courses/{w.spare_course}")
    ),
    ("POST", "/api/v1/admin/sections"): Entry(
        REGISTRAR,
        lambda w: Call(
            "/api/v1/admin/sections",
            json={
                "term_id": w.term,
                "course_code": w.spare_course_code,
                "number": 9,
                "capacity": 10,
            },
        ),
    ),
    ("PATCH", "/api/v1/admin/sections/{section_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/sections/{w.section_a}", json={"capacity": 40})
    ),
    ("DELETE", "/api/v1/admin/sections/{section_id}"): Entry(
        REGISTRAR, lambda w: Call(f"/api/v1/admin/sections/{w.open_section}")
    ),
}


def first_asset() -> str:
    return sorted(p.name for p in (pages.DIST / "assets").iterdir() if p.is_file())[0]


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, the included routers' routes and the mounts."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(getattr(route, "original_route", route), Mount):
            found |= {(m, f"{route.path}/{{path}}") for m in ("GET", "HEAD")}  # static files
        elif route.methods:
            found |= {(method, route.path) for method in route.methods}
        else:  # a websocket, or a kind of route this table has not met yet
            found.add(("WEBSOCKET", route.path))
    return found


@pytest.mark.parametrize("backend", ["sqlite"])  # the routes do not depend on the database
def test_every_route_is_declared_and_every_declaration_is_a_route(services: Services) -> None:
    served = app_routes(create_app(services=services))
    declared = {route for route, entry in MATRIX.items() if entry.present}
    undeclared, gone = sorted(served - MATRIX.keys()), sorted(declared - served)
    assert not (undeclared or gone), (
        f"the authorization matrix ({__name__}.MATRIX) is not the app's routes: "
        f"say who may call {undeclared or 'nothing more'}; "
        f"remove the lines of {gone or 'nothing'}, gone from the app"
    )


async def build_world(client: httpx.AsyncClient, factory: Factory) -> World:
    term = await factory.term()
    spare_term = await factory.term(current=False)
    professor, other_professor = await factory.staff("professor"), await factory.staff("professor")
    registrar = await factory.staff("admin")
    course_code = await factory.course()
    spare_course_code = await factory.course()
    section_a = await factory.section(term, course=course_code, instructor=professor)
    section_b = await factory.section(term, instructor=other_professor)
    open_section = await factory.section(term)
    student, other_student = await factory.students(2)
    student_number = await factory.username_of(student)
    headers: dict[Caller, dict[str, str]] = {
        "anonymous": {},
        "student": await login(client, student_number),
        "other_student": await login(client, await factory.username_of(other_student)),
        "professor": await login(client, professor),
        "other_professor": await login(client, other_professor),
        "registrar": await login(client, registrar),
    }
    for caller, section, route in (
        ("student", section_a, "/api/v1/enrollments"),
        ("other_student", section_b, "/api/v1/enrollments"),
        ("student", section_b, "/api/v1/basket"),
    ):
        made = await client.post(route, json={"section_id": section}, headers=headers[caller])
        assert made.status_code == 201, made.text
    return World(
        term=term,
        spare_term=spare_term,
        department=await factory.department(),
        course=await _id_of(factory, "courses", "code", course_code),
        spare_course=await _id_of(factory, "courses", "code", spare_course_code),
        spare_course_code=spare_course_code,
        section_a=section_a,
        section_b=section_b,
        open_section=open_section,
        student=student,
        other_student=other_student,
        other_professor=await _id_of(factory, "users", "username", other_professor),
        headers=headers,
        student_number=student_number,
    )


@pytest.fixture(scope="module")
def seeded_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> SeededWorld:
    """One world on SQLite, seeded once and copied for each route: seeding it (five logins,
    three password hashes) costs several times what a route's checks do. Its tokens stay good
    in every copy: same users, same secret, same fixed clock."""
    path = tmp_path_factory.mktemp("matrix") / "world.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
    )

    async def seed() -> World:
        services = Services(settings=settings, db=Database(settings), clock=FixedClock(OPENING))
        try:
            transport = httpx.ASGITransport(app=create_app(services=services))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await build_world(client, Factory(services))
        finally:
            await services.close()

    return SeededWorld(path, asyncio.run(seed()))


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The conftest's databases, but SQLite starts from the seeded world."""
    if backend == "sqlite":
        seeded: SeededWorld = request.getfixturevalue("seeded_sqlite")
        shutil.copy(seeded.path, tmp_path / "sugang.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'sugang.db'}"
    else:
        url: str = request.getfixturevalue("pg_database")
        asyncio.run(truncate(url))
        yield url


@pytest.fixture
async def world(
    backend: str, request: pytest.FixtureRequest, client: httpx.AsyncClient, factory: Factory
) -> World:
    if backend == "sqlite":
        return replace(request.getfixturevalue("seeded_sqlite").world)
    return await build_world(client, factory)


async def _id_of(factory: Factory, table: str, column: str, value: str) -> int:
    async with factory.db.transaction(write=False) as conn:
        found = await conn.scalar(text(f"SELECT id FROM {table} WHERE {column} = :v"), {"v": value})
    assert found is not None, (table, value)
    return int(found)


async def _admitted_ticket(client: httpx.AsyncClient, factory: Factory, world: World) -> str:
    """The term in rush mode, `student` in line and admitted (so the events stream answers
    one event and ends)."""
    room = {"rush_mode": True, "rate": 100.0, "opens_at": factory.now.isoformat()}
    changed = await client.patch(
        f"/api/v1/admin/terms/{world.term}/waiting-room",
        json=room,
        headers=world.headers["registrar"],
    )
    assert changed.status_code == 200, changed.text
    taken = await client.post("/api/v1/queue/tickets", headers=world.headers["student"])
    assert taken.status_code == 201, taken.text
    clock = factory.services.clock
    assert isinstance(clock, FixedClock)
    clock.now += timedelta(seconds=1)
    return str(taken.json()["ticket"])


async def send(
    client: httpx.AsyncClient, method: str, call: Call, headers: dict[str, str]
) -> httpx.Response:
    return await client.request(
        method,
        call.path,
        json=call.json,
        data=call.data,
        files=call.files,
        params=call.params,
        headers=headers,
    )


def judge(entry: Entry, caller: Caller, answer: httpx.Response) -> str | None:
    """What is wrong with `caller`'s answer, or None."""
    refusal = entry.rule.refused.get(caller)
    if refusal is not None:
        code = _code_of(answer)
        if (answer.status_code, code) != refusal:
            return f"expected {refusal[0]} {refusal[1]}, got {answer.status_code} {code}"
        return None
    allowed = entry.ok or range(200, 300)
    if answer.status_code not in allowed:
        return f"allowed ({entry.rule.who}), got {answer.status_code}: {answer.text[:200]}"
    return None


def _code_of(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def cases() -> Iterator[Any]:
    """Every route on SQLite; on PostgreSQL too where a query decides the refusal (whose
    enrollment, basket entry or section it is): role checks read only the token."""
    for route in sorted(MATRIX):
        backends = ["sqlite", "postgresql"] if MATRIX[route].rule.decided_by_a_query else ["sqlite"]
        for backend in backends:
            yield pytest.param(backend, route, id=f"{backend}-{' '.join(route)}")


@pytest.mark.parametrize(("backend", "route"), list(cases()))
async def test_every_caller_gets_the_declared_answer(
    client: httpx.AsyncClient, factory: Factory, world: World, route: tuple[str, str]
) -> None:
    entry = MATRIX[route]
    if not entry.present:
        pytest.skip("the route is not in this build (the UI is not built)")
    method, _ = route
    if entry.rush:
        world.ticket = await _admitted_ticket(client, factory, world)
    call = entry.call(world)
    # Refusals first: what they might have changed would show in the allowed calls after them.
    order = sorted(CALLERS, key=lambda caller: caller not in entry.rule.refused)
    problems: dict[Caller, str] = {}
    for caller in order:
        answer = await send(client, method, call, world.headers[caller])
        if (problem := judge(entry, caller, answer)) is not None:
            problems[caller] = problem
        elif call.json is not None and caller in entry.rule.refused:
            # the same refusal for a body out of shape: no 422 describing the schema instead
            out_of_shape = replace(call, json=[1])
            answer = await send(client, method, out_of_shape, world.headers[caller])
            if (problem := judge(entry, caller, answer)) is not None:
                problems[caller] = f"with a body out of shape: {problem}"
    assert not problems, f"{method} {call.path} ({entry.rule.who}): {problems}"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_bytes_that_are_no_json_are_422_before_the_role_and_name_no_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """FastAPI parses a JSON body before any dependency runs, so a student's unparseable body
    to a registrar's route is a 422 rather than a 403: it says only that the JSON is broken."""
    _, student = await student_client(client, factory)
    answer = await client.post(
        "/api/v1/admin/departments",
        content=b'{"code": ',
        headers={**student, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "INVALID_REQUEST"
    assert answer.json()["detail"]["errors"] == [
        {"loc": ["body", "9"], "msg": "JSON decode error"}
    ]  # where it broke
