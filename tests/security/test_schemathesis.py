"""Schemathesis over the app's own OpenAPI document, in process: every operation, called by
anonymous, a student, a professor and the registrar with generated requests (valid and
not), never gets a 5xx, and every answer is one the document declares, in its shape.

Bounded and reproducible: a fixed number of examples per operation, derandomized, no
example database; each operation and caller starts from a copy of one seeded SQLite world.
"""

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans
from starlette.types import ASGIApp, Receive, Scope, Send

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.db import Database
from sugang.runtime import Services
from tests.support.databases import OPENING, TEST_SECRET
from tests.support.factories import Factory, login

MAX_EXAMPLES = 10
ROLES = ("anonymous", "student", "professor", "registrar")
ROSTER = "/api/v1/sections/{section_id}/roster"


def settings_for(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
    )


def served_document() -> dict[str, Any]:
    """The document /openapi.json serves (building the app opens no connection)."""
    configured = settings_for("sqlite+aiosqlite://")
    services = Services(settings=configured, db=Database(configured))
    try:
        return create_app(services=services).openapi()
    finally:
        asyncio.run(services.close())


DOCUMENT = served_document()
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 14,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        # Valid data may still be refused by the rules (CREDIT_LIMIT, a wrong current
        # password, a full section): that is an answer, not a bug.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


class WithoutLifespan:
    """The app as the other in-process tests run it (httpx's ASGITransport sends no
    lifespan: no admission loop, no gc.freeze), its services closed when schemathesis ends
    the lifespan, in the event loop that used them."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.closed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await self.services.close()
        self.closed = True
        await send({"type": "lifespan.shutdown.complete"})


@dataclass(frozen=True)
class SeededWorld:
    path: Path
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> SeededWorld:
    """A current term with open windows, sections (one taught by the professor, one the
    student is enrolled in), and a token per role; copied for every operation and role, so
    one operation's deletions never starve another of data."""
    path = tmp_path_factory.mktemp("schemathesis") / "world.db"
    shutil.copy(sqlite_template, path)
    configured = settings_for(f"sqlite+aiosqlite:///{path}")

    async def seed() -> dict[str, dict[str, str]]:
        services = Services(settings=configured, db=Database(configured), clock=FixedClock(OPENING))
        try:
            factory = Factory(services)
            term = await factory.term()
            professor = await factory.staff("professor")
            taught = await factory.section(term, instructor=professor)
            await factory.section(term, meets="Mon 09:00-10:15")
            student = await factory.student()
            transport = httpx.ASGITransport(app=create_app(services=services))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {
                    "anonymous": {},
                    "student": await login(client, await factory.username_of(student)),
                    "professor": await login(client, professor),
                    "registrar": await login(client, await factory.staff("admin")),
                }
                enrolled = await client.post(
                    "/api/v1/enrollments", json={"section_id": taught}, headers=headers["student"]
                )
                assert enrolled.status_code == 201, enrolled.text
            return headers
        finally:
            await services.close()

    return SeededWorld(path, asyncio.run(seed()))


@pytest.fixture
def app(seeded: SeededWorld, tmp_path: Path) -> Iterator[WithoutLifespan]:
    shutil.copy(seeded.path, tmp_path / "sugang.db")
    configured = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'sugang.db'}")
    services = Services(settings=configured, db=Database(configured), clock=FixedClock(OPENING))
    wrapped = WithoutLifespan(create_app(services=services), services)
    yield wrapped
    shutdown_lifespans()  # closes the services in schemathesis's event loop
    if not wrapped.closed:  # no request was sent: nothing was opened in that loop
        asyncio.run(services.close())


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_server_error_and_every_answer_as_declared(
    case: schemathesis.Case, role: str, app: WithoutLifespan, seeded: SeededWorld
) -> None:
    case.call_and_validate(app=app, headers=seeded.headers[role])


def test_the_served_document_declares_the_refusals_and_their_shape() -> None:
    undeclared = [
        f"{method.upper()} {path}"
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if "4XX" not in operation["responses"]
        or "HTTPValidationError" in str(operation["responses"])
    ]
    assert undeclared == []


def test_the_served_document_declares_the_csv_roster() -> None:
    assert "text/csv" in DOCUMENT["paths"][ROSTER]["get"]["responses"]["200"]["content"]
