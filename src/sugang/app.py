"""The FastAPI application: routers, and the one place errors become HTTP answers."""

import asyncio
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from sugang import __version__
from sugang.auth import api as auth_api
from sugang.catalog import api as catalog_api
from sugang.config import Settings, get_settings
from sugang.deps import language_of
from sugang.enrollment import api as enrollment_api
from sugang.errors import (
    Conflict,
    Internal,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    RateLimited,
    SugangError,
    Unavailable,
)
from sugang.observability.metrics import count_pool_use, worker_exited
from sugang.observability.middleware import ObservabilityMiddleware, served_by
from sugang.ratelimit import rate_limit
from sugang.registrar import api as registrar_api
from sugang.services import Services
from sugang.students import api as students_api
from sugang.system import api as system_api
from sugang.waitingroom import api as waitingroom_api
from sugang.waitingroom.service import adapt_rate
from sugang.web import pages

log = logging.getLogger("sugang")

# Starlette's own HTTP errors (an unparseable body, a wrong method) get stable codes too.
_HTTP_CODES = {400: "INVALID_REQUEST", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app. Tests pass their own `services`; `sugang serve` passes nothing."""
    owns_services = services is None
    services = services or Services.from_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        controller = None
        if owns_services:
            controller = asyncio.create_task(_adapt_forever(services))
            await _warm_up(services)
        # Everything loaded so far (the modules, the app) lives as long as the process: keep
        # it out of the collector's full passes, which took 80-140 ms each at the rush.
        gc.collect()
        gc.freeze()
        yield
        if controller is not None:
            controller.cancel()
        if owns_services:
            await services.close()
            worker_exited(os.getpid())

    app = FastAPI(
        title="sugang",
        version=__version__,
        summary="Course registration (수강신청) that stays correct under a registration rush",
        lifespan=lifespan,
        dependencies=[Depends(rate_limit)],
    )
    app.state.services = services
    settings = services.settings
    count_pool_use(
        services.db.engine.sync_engine.pool, settings.db_pool_size + settings.db_max_overflow
    )
    for module in (
        system_api,
        waitingroom_api,
        auth_api,
        catalog_api,
        enrollment_api,
        students_api,
        registrar_api,
    ):
        app.include_router(module.router)
    app.include_router(catalog_api.admin)

    pages.mount(app)
    _install_error_handlers(app)
    app.add_middleware(
        ObservabilityMiddleware,
        served_by=served_by(settings.node_name, settings.pod_name, socket.gethostname()),
        access_log=settings.access_log,
        watched=("POST", "/api/v1/enrollments"),
        on_watched=lambda seconds, error: services.latency.record(seconds, error),
    )
    return app


def _answer(
    request: Request, error: SugangError, headers: dict[str, str] | None = None
) -> JSONResponse:
    language = language_of(request.headers.get("accept-language"))
    return JSONResponse(error.to_body(language), status_code=error.status, headers=headers)


async def _warm_up(services: Services) -> None:
    """Before serving: the database pool opened (a database that is not there yet is not a
    reason to fail the start; /readyz says so)."""
    try:
        async with asyncio.timeout(10):
            await services.db.warm_up(services.settings.db_pool_size)
    except (OSError, DBAPIError, PoolTimeoutError, TimeoutError) as error:
        log.warning("could not open the database pool at startup: %s", error)


async def _adapt_forever(services: Services) -> None:
    """The adaptive admission controller: every worker offers a step each period; the room
    lets one of them take it (judging by its own latency window), whatever the replicas."""
    while True:
        await asyncio.sleep(services.settings.adaptive_period_seconds)
        try:
            await adapt_rate(services)
        except Exception:  # a missed step is retried next period; never kill the loop
            log.warning("adaptive admission step failed", exc_info=True)


def _is_check_violation(error: IntegrityError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "23514" or "CHECK constraint failed" in str(error.orig)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SugangError)
    async def refused(request: Request, error: SugangError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
        if error.status == 503:
            headers = {"Retry-After": "2"}
        if isinstance(error, RateLimited):
            headers = {"Retry-After": str(error.detail["retry_after"])}
        return _answer(request, error, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
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
    @app.exception_handler(OSError)  # asyncpg's refused or timed-out connects, unwrapped
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", error)
        return _answer(request, Unavailable(), {"Retry-After": "2"})

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
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
