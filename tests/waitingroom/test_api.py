"""The waiting room over HTTP: rush mode, tickets, passes, lottery, SSE, adaptive rate."""

import asyncio
import dataclasses
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sugang.app import create_app
from sugang.clock import FixedClock
from sugang.runtime import Services
from sugang.waitingroom import api as waitingroom_api
from sugang.waitingroom.controller import AimdSettings
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.streams import StreamSlots
from tests.support.factories import Factory, login

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory", "redis"])
def service_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The waiting room on the backend this run is about."""
    if request.param == "redis":
        room = RedisWaitingRoom(REDIS_URL, random.Random(7), prefix=f"test-{uuid.uuid4().hex}")
        return {"waiting_room": room}
    return {}


@pytest.fixture
def rush(services: Services) -> Services:
    return services


@pytest.fixture
async def http(rush: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=rush)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def rush_term(
    http: httpx.AsyncClient, factory: Factory, **room: Any
) -> tuple[int, int, dict[str, str]]:
    term = await factory.term()
    section = await factory.section(term, capacity=5)
    admin = await login(http, await factory.staff())
    response = await http.patch(
        f"/api/v1/admin/terms/{term}/waiting-room", json={"rush_mode": True, **room}, headers=admin
    )
    assert response.status_code == 200, response.text
    return term, section, admin


async def student(http: httpx.AsyncClient, factory: Factory) -> dict[str, str]:
    number = f"2027{uuid.uuid4().int % 10**6:06d}"
    await factory.student(number=number)
    return await login(http, number)


async def test_without_rush_mode_there_is_no_queue(
    http: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term)
    headers = await student(http, factory)
    refused = await http.post("/api/v1/queue/tickets", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "NOT_IN_RUSH_MODE"
    enrolled = await http.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    assert enrolled.status_code == 201


async def test_rush_mode_admits_through_the_queue_then_enrolls(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    _, section, _ = await rush_term(http, factory, rate=100.0)
    headers = await student(http, factory)

    blocked = await http.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    assert blocked.status_code == 401 and blocked.json()["code"] == "ADMISSION_REQUIRED"

    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()
    assert (ticket["position"], ticket["admitted"], ticket["access_token"]) == (1, False, None)
    again = (await http.post("/api/v1/queue/tickets", headers=headers)).json()
    assert again["ticket"] == ticket["ticket"] and again["position"] == 1

    assert ticket["poll_after_seconds"] == 0.2  # next in line, due at once: ask right back

    clock.now += timedelta(seconds=1)
    state = (await http.get(f"/api/v1/queue/tickets/{ticket['ticket']}", headers=headers)).json()
    assert state["admitted"] and state["access_token"] and state["poll_after_seconds"] is None
    assert state["ticket"] == ticket["ticket"]

    pass_ = {**headers, "X-Admission-Token": state["access_token"]}
    enrolled = await http.post("/api/v1/enrollments", json={"section_id": section}, headers=pass_)
    assert enrolled.status_code == 201
    dropped = await http.delete(f"/api/v1/enrollments/{section}", headers=pass_)
    assert dropped.status_code == 204


async def test_forged_foreign_and_expired_passes_are_refused(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    _, section, _ = await rush_term(http, factory, rate=100.0, session_seconds=60)
    mine, theirs = await student(http, factory), await student(http, factory)
    ticket = (await http.post("/api/v1/queue/tickets", headers=mine)).json()["ticket"]
    clock.now += timedelta(seconds=1)
    token = (await http.get(f"/api/v1/queue/tickets/{ticket}", headers=mine)).json()["access_token"]

    async def enroll(headers: dict[str, str], admission: str) -> httpx.Response:
        return await http.post(
            "/api/v1/enrollments",
            json={"section_id": section},
            headers={**headers, "X-Admission-Token": admission},
        )

    forged = await enroll(mine, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert forged.status_code == 401 and forged.json()["code"] == "ADMISSION_INVALID"
    login_token = mine["Authorization"].removeprefix("Bearer ")
    assert (await enroll(mine, login_token)).json()["code"] == "ADMISSION_INVALID"
    replayed = await enroll(theirs, token)
    assert replayed.status_code == 403 and replayed.json()["code"] == "ADMISSION_NOT_YOURS"
    someone_elses_ticket = await http.get(f"/api/v1/queue/tickets/{ticket}", headers=theirs)
    assert someone_elses_ticket.status_code == 404
    clock.now += timedelta(seconds=61)
    expired = await enroll(mine, token)
    assert expired.status_code == 401 and expired.json()["code"] == "ADMISSION_EXPIRED"
    assert await factory.count("enrollments") == 0


async def test_tickets_before_opening_wait_for_the_lottery(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    opening = clock.now + timedelta(minutes=1)
    await rush_term(http, factory, rate=1.0, opens_at=opening.isoformat())
    students = [await student(http, factory) for _ in range(6)]
    tickets = []
    for headers in students:
        ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()
        assert ticket["position"] is None and ticket["eta_seconds"] == 60
        assert ticket["poll_after_seconds"] == 10.0  # a minute before opening: not too often
        tickets.append(ticket["ticket"])

    clock.now = opening
    positions = [
        (await http.get(f"/api/v1/queue/tickets/{t}", headers=h)).json()["position"]
        for t, h in zip(tickets, students, strict=True)
    ]
    assert sorted(positions) == [1, 2, 3, 4, 5, 6]


async def test_the_stream_reports_places_until_admitted(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    await rush_term(http, factory, rate=100.0)
    headers = await student(http, factory)
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()["ticket"]
    clock.now += timedelta(seconds=1)

    async with http.stream("GET", f"/api/v1/queue/tickets/{ticket}/events", headers=headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = (await r.aread()).decode()

    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1]["admitted"] and events[-1]["access_token"]


async def test_registrar_sees_depth_and_every_change_is_audited(
    http: httpx.AsyncClient, factory: Factory
) -> None:
    term, _, admin = await rush_term(http, factory, rate=5.0)
    for _ in range(3):
        await http.post("/api/v1/queue/tickets", headers=await student(http, factory))
    paused = await http.patch(
        f"/api/v1/admin/terms/{term}/waiting-room",
        json={"paused": True, "mode": "adaptive"},
        headers=admin,
    )
    room = paused.json()
    assert (room["joined"], room["waiting"], room["paused"], room["mode"]) == (
        3,
        3,
        True,
        "adaptive",
    )
    audit = (await http.get("/api/v1/admin/audit", headers=admin)).json()
    changes = [e for e in audit if e["action"] == "waiting_room"]  # logins are audited too
    assert len(changes) >= 2
    assert changes[0]["detail"] == {"term_id": term, "paused": True, "mode": "adaptive"}


@pytest.mark.slow  # runs a load of deliberately slow requests
async def test_adaptive_mode_backs_off_when_the_workload_slows(
    http: httpx.AsyncClient,
    factory: Factory,
    rush: Services,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    term, section, admin = await rush_term(http, factory, mode="adaptive", rate=100.0)
    headers = await student(http, factory)
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()["ticket"]
    clock.now += timedelta(seconds=1)
    token = (await http.get(f"/api/v1/queue/tickets/{ticket}", headers=headers)).json()[
        "access_token"
    ]
    pass_ = {**headers, "X-Admission-Token": token}
    await http.patch(  # a line that has to wait, so a healthy service earns a faster rate
        f"/api/v1/admin/terms/{term}/waiting-room", json={"paused": True}, headers=admin
    )
    for _ in range(3):
        await http.post("/api/v1/queue/tickets", headers=await student(http, factory))
    slow_to_grow = AimdSettings(line_seconds_to_grow=0.01)  # 3 waiting: a long line at 70/s

    enroll_optimistically = rush.enrollment.enroll_optimistically

    async def slow_enroll(*args: Any, **kwargs: Any) -> Any:  # the fake slow workload
        await asyncio.sleep(0.2)
        return await enroll_optimistically(*args, **kwargs)

    monkeypatch.setattr(rush.enrollment, "enroll_optimistically", slow_enroll)
    await asyncio.gather(
        *(
            http.post("/api/v1/enrollments", json={"section_id": section}, headers=pass_)
            for _ in range(25)
        )
    )
    assert await rush.queue.adapt_rate(slow_to_grow) == pytest.approx(70.0)  # p99 200 ms: x0.7
    assert await rush.queue.adapt_rate(slow_to_grow) is None  # one step a period, whoever asks

    monkeypatch.setattr(rush.enrollment, "enroll_optimistically", enroll_optimistically)
    for _ in range(25):
        await http.post("/api/v1/enrollments", json={"section_id": section}, headers=pass_)
    # a period later the slow requests are out of the window: only the fast ones are judged
    clock.now += timedelta(seconds=rush.settings.adaptive_period_seconds)
    grown = await rush.queue.adapt_rate(
        slow_to_grow
    )  # healthy: by how much depends on this machine's speed
    assert grown is not None and grown > 70.0  # (test_controller.py pins each step)


async def test_losing_redis_is_a_503_and_lets_nobody_in_unchecked(
    services: Services, factory: Factory, clock: FixedClock
) -> None:
    unreachable = RedisWaitingRoom("redis://127.0.0.1:1/0")
    services = dataclasses.replace(services, waiting_room=unreachable)
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        term = await factory.term()
        section = await factory.section(term)
        admin = await login(c, await factory.staff())
        await c.patch(
            f"/api/v1/admin/terms/{term}/waiting-room", json={"rush_mode": True}, headers=admin
        )
        headers = await student(c, factory)
        ticket = await c.post("/api/v1/queue/tickets", headers=headers)
        enroll = await c.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    await unreachable.close()
    assert ticket.status_code == 503 and ticket.json()["code"] == "QUEUE_UNAVAILABLE"
    assert ticket.headers["Retry-After"]
    assert enroll.status_code == 401 and enroll.json()["code"] == "ADMISSION_REQUIRED"


async def test_metrics_show_the_rooms_depth_and_admissions(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    term, _, _ = await rush_term(http, factory, rate=2.0)
    for _ in range(5):
        await http.post("/api/v1/queue/tickets", headers=await student(http, factory))
    clock.now += timedelta(seconds=1)

    text = (await http.get("/metrics")).text

    assert f'sugang_waiting_room_depth{{term_id="{term}"}} 3.0' in text
    assert f'sugang_waiting_room_admitted{{term_id="{term}"}} 2.0' in text
    assert f'sugang_waiting_room_admission_rate{{term_id="{term}"}} 2.0' in text


async def forget(room: Any, term: int, student_id: int) -> None:
    """A STAND-IN for a Redis failover that had not replicated a student's join: the room no
    longer knows them, in the same epoch."""
    if isinstance(room, RedisWaitingRoom):
        cfg, pos, order, pool, sessions = room._keys(term)
        await room.redis.hdel(pos, str(student_id))
        await room.redis.zrem(order, str(student_id))
        await room.redis.srem(pool, str(student_id))
        await room.redis.zrem(sessions, str(student_id))
    else:
        kept = room._rooms[term]
        position = kept.positions.pop(student_id, None)
        if position is not None:
            kept.order[position] = -1  # the room's own mark of a slot nobody holds
        kept.pool.discard(student_id)


async def test_a_ticket_the_room_lost_is_put_in_line_again(
    http: httpx.AsyncClient, factory: Factory, rush: Services
) -> None:
    term, _, _ = await rush_term(http, factory, rate=0.001)
    first, lost = await student(http, factory), await student(http, factory)
    await http.post("/api/v1/queue/tickets", headers=first)
    ticket = (await http.post("/api/v1/queue/tickets", headers=lost)).json()
    me = (await http.get("/api/v1/me", headers=lost)).json()["id"]
    await forget(rush.room, term, me)

    again = await http.get(f"/api/v1/queue/tickets/{ticket['ticket']}", headers=lost)

    assert again.status_code == 200, again.text
    assert again.json()["ticket"] == ticket["ticket"]  # the ticket they hold stays good
    assert again.json()["position"] == 3  # at the back of the line: after everyone still there


async def test_a_ticket_a_room_that_came_back_empty_lost_is_put_in_line_again(
    http: httpx.AsyncClient, factory: Factory, rush: Services
) -> None:
    """After a reset (the ticket's epoch is 1), Redis restarts without its data: the epoch is
    gone with the line, and the ticket must not pass for one from before a reset."""
    term, _, admin = await rush_term(http, factory, rate=0.001)
    reset = {"reset": True}
    await http.patch(f"/api/v1/admin/terms/{term}/waiting-room", json=reset, headers=admin)
    headers = await student(http, factory)
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()
    room = rush.room
    if isinstance(room, RedisWaitingRoom):  # a STAND-IN for a Redis restarted empty
        await room.redis.delete(*room._keys(term), room._epoch_key(term))
    else:
        room._rooms.pop(term)
        room._epochs.pop(term)
    await http.patch(
        f"/api/v1/admin/terms/{term}/waiting-room", json={"rate": 0.001}, headers=admin
    )

    again = await http.get(f"/api/v1/queue/tickets/{ticket['ticket']}", headers=headers)

    assert again.status_code == 200, again.text
    assert again.json()["ticket"] == ticket["ticket"]


async def test_a_ticket_from_before_a_reset_is_void(
    http: httpx.AsyncClient, factory: Factory
) -> None:
    term, _, admin = await rush_term(http, factory)
    headers = await student(http, factory)
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()
    reset = {"reset": True}
    await http.patch(f"/api/v1/admin/terms/{term}/waiting-room", json=reset, headers=admin)

    void = await http.get(f"/api/v1/queue/tickets/{ticket['ticket']}", headers=headers)

    assert void.status_code == 404 and void.json()["code"] == "TICKET_INVALID"


async def test_a_student_holds_at_most_two_live_streams(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    await rush_term(http, factory, rate=100.0)
    headers = await student(http, factory)
    me = (await http.get("/api/v1/me", headers=headers)).json()["id"]
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()["ticket"]
    clock.now += timedelta(seconds=1)
    path = f"/api/v1/queue/tickets/{ticket}/events"
    slots = waitingroom_api._slots.setdefault(2, StreamSlots(2))
    assert slots.take(me) and slots.take(me)  # two pages of theirs streaming already

    third = await http.get(path, headers=headers)
    assert third.status_code == 429 and third.json()["code"] == "TOO_MANY_STREAMS"
    assert third.json()["detail"] == {"limit": 2}

    slots.give_back(me)  # one of them closed
    async with http.stream("GET", path, headers=headers) as answer:
        assert answer.status_code == 200
        await answer.aread()
    assert slots.open[me] == 1  # the stream gave its slot back when it ended
    slots.give_back(me)


async def admitted_pass(http: httpx.AsyncClient, headers: dict[str, str], clock: FixedClock) -> str:
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()["ticket"]
    clock.now += timedelta(seconds=1)
    state = (await http.get(f"/api/v1/queue/tickets/{ticket}", headers=headers)).json()
    assert state["admitted"], state
    return str(state["access_token"])


async def test_a_pass_from_before_a_room_reset_admits_no_more(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    term, section, admin = await rush_term(http, factory, rate=100.0)
    headers = await student(http, factory)
    admission = await admitted_pass(http, headers, clock)
    reset = {"reset": True}
    assert (
        await http.patch(f"/api/v1/admin/terms/{term}/waiting-room", json=reset, headers=admin)
    ).status_code == 200

    after = await http.post(
        "/api/v1/enrollments",
        json={"section_id": section},
        headers={**headers, "X-Admission-Token": admission},
    )
    assert after.status_code == 401, after.text
    assert after.json()["code"] == "ADMISSION_EXPIRED"
    assert after.json()["detail"]["reason"] == "room_reset"
    assert await factory.count("enrollments") == 0
    again = await admitted_pass(http, headers, clock)  # back in line, admitted anew
    enrolled = await http.post(
        "/api/v1/enrollments",
        json={"section_id": section},
        headers={**headers, "X-Admission-Token": again},
    )
    assert enrolled.status_code == 201, enrolled.text


async def test_a_pass_for_one_term_does_not_enroll_in_another(
    http: httpx.AsyncClient, factory: Factory, clock: FixedClock
) -> None:
    _, _, admin = await rush_term(http, factory, rate=100.0)
    headers = await student(http, factory)
    admission = await admitted_pass(http, headers, clock)
    other_term, other_section, _ = await rush_term(http, factory, rate=100.0)

    elsewhere = await http.post(
        "/api/v1/enrollments",
        json={"section_id": other_section},
        headers={**headers, "X-Admission-Token": admission},
    )
    assert elsewhere.status_code in (401, 403), elsewhere.text
    assert elsewhere.json()["code"] in ("ADMISSION_NOT_YOURS", "ADMISSION_REQUIRED")
    assert await factory.count("enrollments") == 0


async def test_a_live_queue_page_ends_once_its_token_is_revoked(
    http: httpx.AsyncClient, factory: Factory, rush: Services
) -> None:
    _, _, admin = await rush_term(http, factory, paused=True)  # the stream would run on
    headers = await student(http, factory)
    me = (await http.get("/api/v1/me", headers=headers)).json()["id"]
    ticket = (await http.post("/api/v1/queue/tickets", headers=headers)).json()["ticket"]

    async def disable_soon() -> None:
        await asyncio.sleep(0.3)
        answer = await http.patch(
            f"/api/v1/admin/users/{me}", json={"disabled": True}, headers=admin
        )
        assert answer.status_code == 200

    disabling = asyncio.create_task(disable_soon())
    async with asyncio.timeout(10):
        async with http.stream(
            "GET", f"/api/v1/queue/tickets/{ticket}/events", headers=headers
        ) as answer:
            text = (await answer.aread()).decode()
    await disabling

    assert "event: error" in text and "NOT_AUTHENTICATED" in text
