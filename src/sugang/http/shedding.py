"""Load shedding: past a number of requests in flight in this worker, a new /api request is
answered at once with the app's own 503 + Retry-After instead of queueing for a database
connection behind hundreds of others. The event loop stays short, so /readyz (never shed)
keeps answering within the probe's timeout and a storm does not take the replica out of the
load balancer. Reads give way first: enrollments and drops may use twice the limit.
Server-sent event streams are neither counted nor shed (they live for minutes).

Of the requests let in, at most `active` run at once; the others wait their turn in arrival
order. Without that, every request in flight shared the event loop: one that needs a few
database round trips queued behind all the others at each of them, and under overload its
latency was a lottery (p99 28 times the p50 at the rush). With the turn, it is a queue. A
request's body is read before it waits for its turn, so a client that sends it slowly holds
no turn meanwhile. Logins, imports and the waiting room are not held to the turns."""

import asyncio
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sugang.errors import Unavailable
from sugang.http.asgi import header, send_json
from sugang.http.deps import language_of
from sugang.scope_keys import SHED

RETRY_AFTER_SECONDS = 1
_ENROLLMENT_WRITES = ("POST", "DELETE")
# Logins (their hashing waits in threads of its own), imports, and the waiting room (one Redis
# round trip: it must keep answering when the database is slow).
_NOT_IN_TURN = ("/api/v1/auth/", "/api/v1/admin/import/", "/api/v1/queue/")


def _answer(language: str) -> bytes:
    return json.dumps(Unavailable().to_body(language), ensure_ascii=False).encode()


_ANSWERS = {language: _answer(language) for language in ("ko", "en")}


class LoadShedding:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        active: int | None = None,
        on_shed: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.on_shed = on_shed
        self.in_flight = 0
        self.turns = asyncio.Semaphore(active) if active else None  # FIFO

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path.endswith("/events"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit_for(scope["method"], path):
            scope[SHED] = True
            self.on_shed()
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        try:
            if self.turns is None or path.startswith(_NOT_IN_TURN):
                await self.app(scope, receive, send)
            else:
                receive = await read_ahead(receive)
                async with self.turns:
                    await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def limit_for(self, method: str, path: str) -> int:
        if method in _ENROLLMENT_WRITES and path.startswith("/api/v1/enrollments"):
            return 2 * self.limit
        return self.limit

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = _ANSWERS[language_of(header(scope, b"accept-language"))]
        extra = [
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send_json(send, 503, body, extra)


async def read_ahead(receive: Receive) -> Receive:
    """The request's body read now, handed back to the app as it came; an error reading it
    (the body limit's) raised to the app where it would have been."""
    messages: list[Message] = []
    failed: Exception | None = None
    try:
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
    except Exception as error:
        failed = error
    messages.reverse()

    async def replayed() -> Message:
        nonlocal failed
        if messages:
            return messages.pop()
        if failed is not None:
            error, failed = failed, None
            raise error
        return await receive()

    return replayed
