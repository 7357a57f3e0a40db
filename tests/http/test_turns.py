"""Requests let in by the load shedding take turns in arrival order."""

import asyncio

from starlette.types import Receive, Scope, Send

from sugang.http.shedding import LoadShedding


async def test_requests_let_in_take_turns_in_arrival_order() -> None:
    """At most `active` run at once; the others wait and start in the order they came (a
    queue, not a lottery). Logins are not held to the turns."""
    running, started, peak = 0, [], 0
    release = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.append(scope["path"])
        await release.wait()
        running -= 1

    shedding = LoadShedding(app, limit=100, active=2)

    async def call(path: str) -> None:
        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        await shedding(scope, _no_receive, _no_send)

    calls = []
    for n in range(6):
        calls.append(asyncio.create_task(call(f"/api/v1/r{n}")))
        await asyncio.sleep(0)
    login = asyncio.create_task(call("/api/v1/auth/token"))
    await asyncio.sleep(0.01)
    assert started == ["/api/v1/r0", "/api/v1/r1", "/api/v1/auth/token"]
    release.set()
    await asyncio.gather(*calls, login)
    assert started[3:] == ["/api/v1/r2", "/api/v1/r3", "/api/v1/r4", "/api/v1/r5"]
    assert peak <= 3  # two turns and the login


async def _no_receive() -> dict[str, object]:
    return {"type": "http.disconnect"}


async def _no_send(message: object) -> None:
    return None


async def test_a_body_sent_slowly_holds_no_turn() -> None:
    """The body is read before the turn is taken: a client trickling its body does not keep
    the others waiting."""
    answered: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        answered.append(scope["path"])

    shedding = LoadShedding(app, limit=100, active=1)
    never = asyncio.Event()

    async def trickle() -> dict[str, object]:
        await never.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def at_once() -> dict[str, object]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    def scope(path: str) -> Scope:
        return {"type": "http", "method": "POST", "path": path, "headers": []}

    slow = asyncio.create_task(shedding(scope("/api/v1/slow"), trickle, _no_send))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(shedding(scope("/api/v1/fast"), at_once, _no_send), 1)
    assert answered == ["/api/v1/fast"]
    never.set()
    await slow
    assert answered == ["/api/v1/fast", "/api/v1/slow"]
