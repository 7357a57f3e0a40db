"""The enroll shortcut answers a plain attempt exactly as the declared route does, and hands
everything else to the route: each case is sent to the app as served and to the same app
with the shortcut taken out (the route alone), on fresh sections and students, and the
answers compared."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sugang.app import create_app
from sugang.enrollment.shortcut import EnrollShortcut
from sugang.runtime import Services
from tests.support.factories import Factory, login

Case = Callable[[httpx.AsyncClient, Factory], Awaitable[httpx.Response]]


def shortcut_of(app: FastAPI) -> EnrollShortcut:
    layer: Any = app.middleware_stack
    while not isinstance(layer, EnrollShortcut):
        layer = layer.app
    return layer


@pytest.fixture
async def both(services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    served = create_app(services=services)
    route_alone = create_app(services=services)
    route_alone.user_middleware = [
        m for m in route_alone.user_middleware if m.cls is not EnrollShortcut
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sugang.test")
        for app in (served, route_alone)
    ]
    yield clients[0], clients[1]
    for c in clients:
        await c.aclose()


async def a_student(client: httpx.AsyncClient, factory: Factory) -> dict[str, str]:
    number = f"2031{uuid.uuid4().int % 10**6:06d}"
    await factory.student(number=number)
    return await login(client, number)


async def plain(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = await a_student(client, factory)
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


async def full(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term(), capacity=1)
    first, second, third = [await a_student(client, factory) for _ in range(3)]
    for headers in (first, second):
        await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=third)


async def waitlisted(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term(), capacity=1)
    first, second = [await a_student(client, factory) for _ in range(2)]
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=first)
    body = {"section_id": section, "waitlist": True}
    return await client.post("/api/v1/enrollments", json=body, headers=second)


async def no_token(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    return await client.post("/api/v1/enrollments", json={"section_id": section})


async def bad_token(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = {"Authorization": "Bearer not-a-token"}
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


async def a_professor(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    name = await factory.staff("professor")
    headers = await login(client, name)
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


async def forged_pass(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = await a_student(client, factory) | {"X-Admission-Token": "forged"}
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


async def no_such_section(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    await factory.term()
    headers = await a_student(client, factory)
    return await client.post("/api/v1/enrollments", json={"section_id": 2**31 - 2}, headers=headers)


async def malformed(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    headers = await a_student(client, factory)
    return await client.post("/api/v1/enrollments", json={"section_id": "x"}, headers=headers)


async def malformed_without_token(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    return await client.post(
        "/api/v1/enrollments", content=b"{", headers={"Content-Type": "application/json"}
    )


async def with_a_key(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = await a_student(client, factory) | {"Idempotency-Key": uuid.uuid4().hex}
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


async def not_json(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = await a_student(client, factory) | {"Content-Type": "text/plain"}
    body = f'{{"section_id": {section}}}'.encode()
    return await client.post("/api/v1/enrollments", content=body, headers=headers)


async def a_long_pass(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    section = await factory.section(await factory.term())
    headers = await a_student(client, factory) | {"X-Admission-Token": "x" * 3000}
    return await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)


TAKEN = [plain, full, waitlisted, no_token, bad_token, a_professor, forged_pass, no_such_section]
HANDED_ON = [malformed, malformed_without_token, with_a_key, not_json, a_long_pass]


def _shape(response: httpx.Response) -> tuple[Any, ...]:
    body = response.json() if response.content else None
    return (
        response.status_code,
        sorted(body) if isinstance(body, dict) else body,
        (body or {}).get("code"),
        (body or {}).get("status"),
        response.headers.get("www-authenticate"),
        response.headers.get("content-type"),
    )


@pytest.mark.parametrize("case", TAKEN + HANDED_ON, ids=lambda c: c.__name__)
async def test_the_shortcut_answers_as_the_route_does(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], factory: Factory, case: Case
) -> None:
    served, route_alone = both
    through_shortcut = await case(served, factory)
    through_route = await case(route_alone, factory)
    assert _shape(through_shortcut) == _shape(through_route)
    assert through_shortcut.headers.get("x-request-id")  # the middleware around it still ran


async def test_plain_attempts_take_the_shortcut_and_the_rest_the_route(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], factory: Factory
) -> None:
    served, _ = both
    await served.get("/healthz")  # the middleware stack is built on the first request
    shortcut = shortcut_of(served._transport.app)  # type: ignore[attr-defined]
    for case in TAKEN:
        before = shortcut.taken
        await case(served, factory)
        assert shortcut.taken > before, case.__name__
    for case in HANDED_ON:
        before = shortcut.taken
        await case(served, factory)
        assert shortcut.taken == before, case.__name__


async def deeply_nested(client: httpx.AsyncClient, factory: Factory) -> httpx.Response:
    headers = await a_student(client, factory) | {"Content-Type": "application/json"}
    return await client.post("/api/v1/enrollments", content=b"[" * 5000, headers=headers)


async def test_a_deeply_nested_body_is_the_routes_to_refuse(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], factory: Factory
) -> None:
    served, route_alone = both
    assert _shape(await deeply_nested(served, factory)) == _shape(
        await deeply_nested(route_alone, factory)
    )


async def test_a_client_gone_before_its_body_is_answered_as_the_route_does(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    answers = []
    for client in both:
        app = client._transport.app  # type: ignore[attr-defined]
        sent: list[dict[str, Any]] = []

        async def gone() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/api/v1/enrollments",
            "raw_path": b"/api/v1/enrollments", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"sugang.test"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1), "server": ("sugang.test", 80),
        }  # fmt: skip
        await app(scope, gone, send)
        answers.append(next(m["status"] for m in sent if m["type"] == "http.response.start"))
    assert answers[0] == answers[1] and answers[0] < 500
