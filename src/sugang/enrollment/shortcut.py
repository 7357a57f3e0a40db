"""POST /api/v1/enrollments, the rush's hot request, answered without FastAPI's routing and
per-request dependency solving, which were about 40% of a worker's CPU on a refusal from a
full section (py-spy, docs/benchmarks.md).

The route stays declared in api.py: it is the OpenAPI document's, and it answers every
request the shortcut does not take. The shortcut takes only the plain attempt — a JSON body
that is a valid EnrollRequest, no Idempotency-Key, a pass within its length — and runs the
same steps in the same order as the route's dependencies and handler: the rate limit, the
bearer token and its revocation, the student role, the pass's signature, the service; its
errors go to the app's own handlers. Anything else it hands on untouched (the body read
once and replayed), so a malformed request gets the route's own answer."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sugang.auth.deps import principal_of, require_role
from sugang.auth.revocations import Revocations
from sugang.clock import Clock
from sugang.config import Settings
from sugang.enrollment.schemas import EnrollRequest
from sugang.enrollment.service import EnrollmentService
from sugang.http.body_limit import BodyTooLarge
from sugang.http.idempotency import respond
from sugang.waitingroom.deps import PASS_MAX_LENGTH, PresentedPass
from sugang.waitingroom.schemas import ADMISSION_HEADER

PATH = "/api/v1/enrollments"
_PASS_HEADER = ADMISSION_HEADER.lower().encode()

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class PlainAttempt:
    body: EnrollRequest
    admission: str | None


def plain_attempt(scope: Scope, body: bytes) -> PlainAttempt | None:
    """The attempt, if the request is one the shortcut answers exactly as the route would."""
    content_type, admission = None, None
    for key, value in scope["headers"]:
        if key == b"content-type" and content_type is None:
            content_type = value
        elif key == b"idempotency-key":
            return None
        elif key == _PASS_HEADER and admission is None:
            admission = value.decode("latin-1")
    if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    if admission is not None and len(admission) > PASS_MAX_LENGTH:
        return None
    try:
        fields = json.loads(body)
        if not isinstance(fields, dict):
            return None
        return PlainAttempt(EnrollRequest.model_validate(fields), admission)
    except (ValueError, ValidationError, RecursionError):  # the route says what is wrong
        return None


class EnrollShortcut:
    def __init__(
        self,
        app: ASGIApp,
        *,
        route: APIRoute,
        settings: Settings,
        clock: Clock,
        revocations: Revocations,
        enrollment: EnrollmentService,
        rate_limit: Callable[[Request], Awaitable[None]],
        handler_for: Callable[[Exception], ErrorHandler | None],
    ) -> None:
        self.app = app
        self.route = route
        self.settings = settings
        self.clock = clock
        self.revocations = revocations
        self.enrollment = enrollment
        self.rate_limit = rate_limit
        self.handler_for = handler_for
        self.secret = settings.secret_key.get_secret_value()
        self.taken = 0  # requests answered here (tests see that the shortcut is used)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        scope["route"] = self.route  # the access log's and the metrics' route template
        try:
            body = await request.body()
        except BodyTooLarge as error:
            await self._answer_error(request, error, send)
            return
        except Exception as error:  # the client went away, say: as FastAPI answers it
            unread = HTTPException(400, "There was an error parsing the body")
            unread.__cause__ = error
            await self._answer_error(request, unread, send)
            return
        attempt = plain_attempt(scope, body)
        if attempt is None:
            await self.app(scope, _replay(body, receive), send)
            return
        self.taken += 1
        try:
            response = await self._enroll(request, attempt)
        except Exception as error:
            await self._answer_error(request, error, send)
            return
        await response(scope, receive, send)

    async def _enroll(self, request: Request, attempt: PlainAttempt) -> Response:
        await self.rate_limit(request)
        principal = await principal_of(request, self.settings, self.clock, self.revocations)
        student = require_role(principal, "student")
        verified = PresentedPass(attempt.admission, self.secret).verify()
        outcome = await self.enrollment.enroll(
            student.user_id, attempt.body.section_id, waitlist=attempt.body.waitlist,
            admission=verified, once=None,
        )  # fmt: skip
        return respond(outcome)

    async def _answer_error(self, request: Request, error: Exception, send: Send) -> None:
        handler = self.handler_for(error)
        if handler is None:
            raise error
        response = await handler(request, error)
        await response(request.scope, request.receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read handed back first."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def handlers_of(exception_handlers: dict[Any, Callable[..., Any]]) -> Callable[[Exception], Any]:
    """The app's handler for an error, as Starlette picks it (the nearest class)."""

    def handler_for(error: Exception) -> Any:
        for cls in type(error).__mro__:
            if cls in exception_handlers:
                return exception_handlers[cls]
        return None

    return handler_for
