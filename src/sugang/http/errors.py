"""Refusals and failures as HTTP answers: one handler per kind of error, installed on the app.

A refusal (SugangError) answers its own status with its code and ko/en messages; the
database being away or busy is a 503 with Retry-After; anything else is a 500 that says
the request may not have been applied, and is logged with its traceback.
"""

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from sugang.db.engine import CommitUnknown, is_disconnect
from sugang.errors import (
    Conflict,
    Internal,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    RequestTooLarge,
    SugangError,
    Unavailable,
)
from sugang.http.body_limit import BodyTooLarge
from sugang.http.deps import language_of

log = logging.getLogger("sugang")


class Messages(BaseModel):
    ko: str
    en: str


class Refusal(BaseModel):
    """Every refusal's body, whatever its status (a 422 included)."""

    code: str = Field(pattern="^[A-Z0-9_]+$", examples=["SECTION_FULL"])
    message: str = Field(description="in the language of Accept-Language (Korean by default)")
    messages: Messages
    detail: dict[str, Any]


# Declared on every operation of the OpenAPI document (it replaces FastAPI's own 422).
REFUSALS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": Refusal, "description": "refused: `code` says why, in machine terms"}
}

# Starlette's own HTTP errors (an unparseable body, a wrong method) get stable codes too.
_HTTP_CODES = {400: "INVALID_REQUEST", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


def _answer(
    request: Request, error: SugangError, headers: dict[str, str] | None = None
) -> JSONResponse:
    language = language_of(request.headers.get("accept-language"))
    return JSONResponse(error.to_body(language), status_code=error.status, headers=headers)


def _is_check_violation(error: IntegrityError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "23514" or "CHECK constraint failed" in str(error.orig)


def _needs_login(request: Request) -> bool:
    """The matched route depends on a security scheme (the bearer token) somewhere."""
    route = request.scope.get("route")

    def secured(dependant: Dependant) -> bool:
        return any(isinstance(d.call, SecurityBase) or secured(d) for d in dependant.dependencies)

    return isinstance(route, APIRoute) and secured(route.dependant)


def install_error_handlers(
    app: FastAPI, authenticated: Callable[[Request], bool] = lambda request: True
) -> None:
    """`authenticated` tells whether a request carries a valid token: a request to a route
    that needs one and does not is answered 401 whatever else is wrong with it (FastAPI
    parses a JSON body before it checks the token)."""

    @app.exception_handler(SugangError)
    async def refused(request: Request, error: SugangError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
        if error.status in (429, 503):
            headers = {"Retry-After": str(error.detail.get("retry_after", 2))}
        return _answer(request, error, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        if _needs_login(request) and not authenticated(request):
            return _answer(request, NotAuthenticated(), {"WWW-Authenticate": "Bearer"})
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        reason = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:5])
        return _answer(request, InvalidRequest(reason=reason, errors=problems))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _answer(request, NotFound(what="page", what_ko="페이지"))
        if isinstance(error, BodyTooLarge):
            return _answer(request, RequestTooLarge(limit=error.limit))
        if error.status_code == 400 and _needs_login(request) and not authenticated(request):
            return _answer(request, NotAuthenticated(), {"WWW-Authenticate": "Bearer"})
        code = _HTTP_CODES.get(error.status_code, f"HTTP_{error.status_code}")
        body: dict[str, Any] = {
            "code": code,
            "message": str(error.detail),
            "messages": {"ko": str(error.detail), "en": str(error.detail)},
            "detail": {},
        }
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(IntegrityError)
    async def constraint(request: Request, error: IntegrityError) -> JSONResponse:
        if _is_check_violation(error):
            # Every CHECK is also validated before writing; reaching one is a bug (the seats
            # CHECK is the oversell backstop). Say so loudly rather than dress it up as 409.
            log.error("CHECK constraint refused a write: %s", error.orig)
            return _answer(request, Internal())
        # A race the service's own checks could not see (two registrars creating one code at
        # once): the database refused it, so nothing was written.
        log.info("constraint refused a write: %s", error.orig)
        return _answer(
            request,
            Conflict(
                reason="this conflicts with data saved at the same moment; reload and retry",
                reason_ko="동시에 저장된 데이터와 충돌합니다. 새로고침 후 다시 시도하세요",
            ),
        )

    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(CommitUnknown)
    @app.exception_handler(OSError)  # asyncpg's refused or timed-out connects, unwrapped
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", error)
        return _answer(request, Unavailable(), {"Retry-After": "2"})

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        if is_disconnect(error):  # the server went away mid-request: a restart, a failover
            log.warning("database connection lost: %s", error.orig)
            return _answer(request, Unavailable(), {"Retry-After": "1"})
        sqlstate = str(getattr(error.orig, "sqlstate", "") or "")
        if sqlstate.startswith("22"):  # data exception: e.g. a NUL byte in a text field
            return _answer(request, InvalidRequest(reason="a value cannot be stored as given"))
        if sqlstate.startswith("40") or sqlstate in ("55P03", "57014", "53300"):
            # deadlocks beyond the retries, lock or statement timeouts, too many connections
            log.warning("database busy (%s): %s", sqlstate, error.orig)
            return _answer(request, Unavailable(), {"Retry-After": "1"})
        log.exception("database error on %s %s", request.method, request.url.path)
        return _answer(request, Internal())

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _answer(request, Internal())
