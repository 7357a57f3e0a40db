"""One pure-ASGI middleware: request id, X-Served-By, per-route metrics and the access log.

At the rush a worker answers thousands of requests a second, and a log line for each was 9%
of its CPU (py-spy, docs/benchmarks.md): past `access_log_per_second` lines in a second, only
server errors and slow answers are logged, and a line says how many were not."""

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sugang.observability.logs import request_id
from sugang.observability.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS
from sugang.scope_keys import SHED, USER_ID

access = logging.getLogger("sugang.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
# Request ids: a random prefix, the process id and a counter (uuid4 per request cost 4% of a
# worker's CPU at the rush).
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{os.getpid():08x}{next(_ID_COUNTER):012x}"  # 28 hex digits


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        served_by: str,
        access_log: bool = True,
        watched: tuple[str, str] | None = None,
        on_watched: Callable[[float, bool], None] | None = None,
        access_log_per_second: int = 200,
    ) -> None:
        """`on_watched(seconds, server_error)` hears every answer of the `watched` (method,
        route template): the adaptive waiting room's view of the enroll endpoint."""
        self.app = app
        self.served_by = served_by
        self.access_log = access_log
        self.watched = watched
        self.on_watched = on_watched
        self.sampler = AccessSampler(access_log_per_second)
        self._requests: dict[tuple[str, str, int], Any] = {}  # metric children, by labels
        self._latency: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _SAFE_ID.match(incoming) else _new_request_id()
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Served-By"] = self.served_by
                headers["X-Request-ID"] = rid
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            HTTP_IN_FLIGHT.dec()
            seconds = time.perf_counter() - started
            method = scope["method"]
            template = getattr(scope.get("route"), "path", None) or self._unrouted(scope)
            self._requests_child(method, template, status).inc()
            self._latency_child(method, template).observe(seconds)
            if self.on_watched is not None and (method, template) == self.watched:
                self.on_watched(seconds, status >= 500)
            if self.access_log and self.sampler.keep(status, seconds):
                access.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        # after uvicorn's proxy headers: the client, as far as trusted proxies say
                        "client": (scope.get("client") or ("-",))[0],
                    }
                    | ({"user_id": scope[USER_ID]} if USER_ID in scope else {}),
                )
            request_id.reset(token)

    def _requests_child(self, method: str, template: str, status: int) -> Any:
        """The counter for these labels, looked up once (prometheus_client's `labels()` takes
        a lock and builds the key each time)."""
        key = (method, template, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = HTTP_REQUESTS.labels(method, template, str(status))
        return child

    def _latency_child(self, method: str, template: str) -> Any:
        key = (method, template)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = HTTP_LATENCY.labels(method, template)
        return child

    def _unrouted(self, scope: Scope) -> str:
        """A request no route handled: refused by the load shedding before routing ("shed";
        on the watched route, that route, so that its shed answers count as its errors and
        the adaptive waiting room slows down), or unknown ("unmatched")."""
        if not scope.get(SHED):
            return "unmatched"
        if self.watched is not None and (scope["method"], scope["path"]) == self.watched:
            return str(scope["path"])
        return "shed"


class AccessSampler:
    """Which answers get an access-log line: all of them up to `per_second` in a second,
    then only server errors (not 503: the load shedding's answers are the flood itself) and
    answers slower than `slow_seconds`; the first line of the next second that has any says
    how many were left out."""

    def __init__(
        self,
        per_second: int,
        slow_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.slow_seconds = slow_seconds
        self.clock = clock
        self.second = 0
        self.logged = 0
        self.skipped = 0

    def keep(self, status: int, seconds: float) -> bool:
        second = int(self.clock())
        if second != self.second:
            if self.skipped:
                access.info(
                    "%d answers not logged in a second (over %d a second)",
                    self.skipped,
                    self.per_second,
                    extra={"not_logged": self.skipped},
                )
            self.second, self.logged, self.skipped = second, 0, 0
        failed = status >= 500 and status != 503  # a 503 is a refusal to come back later
        if self.logged < self.per_second or failed or seconds >= self.slow_seconds:
            self.logged += 1
            return True
        self.skipped += 1
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def served_by(node: str | None, pod: str | None, hostname: str) -> str:
    """`<node>/<pod>` from the downward API, the host name standing in for what is unset."""
    return f"{node or hostname}/{pod or hostname}"
