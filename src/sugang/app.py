"""The FastAPI application: the routers, the middleware, the error answers and the process's
lifespan (pool opened before serving, the adaptive admission loop)."""

import asyncio
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.routing import BaseRoute

from sugang import __version__
from sugang.auth import api as auth_api
from sugang.auth.tokens import read_token
from sugang.catalog import api as catalog_api
from sugang.config import Settings, get_settings
from sugang.enrollment import api as enrollment_api
from sugang.enrollment.shortcut import PATH as ENROLL_PATH
from sugang.enrollment.shortcut import EnrollShortcut, handlers_of
from sugang.http.body_limit import BodyLimit
from sugang.http.deps import bearer
from sugang.http.errors import REFUSALS, install_error_handlers
from sugang.http.metrics_port import MetricsPort
from sugang.http.ratelimit import RateLimit
from sugang.http.security_headers import SecurityHeaders
from sugang.http.shedding import LoadShedding
from sugang.observability.metrics import (
    SHED_REQUESTS,
    EnrollmentMetrics,
    count_pool_use,
    worker_exited,
)
from sugang.observability.middleware import ObservabilityMiddleware, served_by
from sugang.registrar.api import catalog as registrar_catalog_api
from sugang.registrar.api import operations as registrar_api
from sugang.registrar.api import people as people_api
from sugang.registrar.api import waiting_room as room_admin_api
from sugang.runtime import Services
from sugang.system import api as system_api
from sugang.system.health_port import HealthPort
from sugang.waitingroom import api as waitingroom_api
from sugang.web import pages

log = logging.getLogger("sugang")

ROUTERS = (
    system_api.router,
    waitingroom_api.router,
    room_admin_api.router,
    auth_api.router,
    catalog_api.router,
    enrollment_api.router,
    people_api.router,
    registrar_api.router,
    registrar_catalog_api.router,
)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app. Tests pass their own `services`; `sugang serve` passes nothing."""
    owns_services = services is None
    services = services or Services.from_settings(settings or get_settings())
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        readiness = services.system.readiness
        tasks = [asyncio.create_task(readiness.watch())]
        if owns_services:
            tasks.append(asyncio.create_task(_adapt_forever(services)))
            tasks.append(asyncio.create_task(_publish_latency_forever(services)))
            tasks.append(asyncio.create_task(_purge_forever(services)))
            await _warm_up(services)
            readiness.drain_on_sigterm()
        health = None
        if settings.health_port is not None:
            health = HealthPort(settings.host, settings.health_port, readiness.snapshot).start()
        # Everything loaded so far (the modules, the app) lives as long as the process: keep
        # it out of the collector's full passes, which took 80-140 ms each at the rush.
        gc.collect()
        gc.freeze()
        yield
        readiness.draining = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if health is not None:
            health.stop()
        if owns_services:
            await services.close()
            worker_exited(os.getpid())

    secret = settings.secret_key.get_secret_value()

    def user_of(token: str) -> int | None:
        principal = read_token(token, secret, services.clock()) if token else None
        return None if principal is None else principal.user_id

    rate_limit = RateLimit(settings, services.rate_limiter, services.clock, user_of)
    app = FastAPI(
        title="sugang",
        version=__version__,
        summary="Course registration (수강신청) that stays correct under a registration rush",
        lifespan=lifespan,
        dependencies=[Depends(rate_limit)],
        responses=REFUSALS,
        docs_url="/docs" if settings.api_docs_enabled else None,
        redoc_url="/redoc" if settings.api_docs_enabled else None,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
    )
    app.state.services = services
    services.enrollment.metrics = EnrollmentMetrics()
    count_pool_use(
        services.db.engine.sync_engine.pool, settings.db_pool_size + settings.db_max_overflow
    )
    for router in ROUTERS:
        app.include_router(router)
    pages.mount(app)
    install_error_handlers(app, authenticated=lambda request: user_of(bearer(request)) is not None)
    app.add_middleware(
        EnrollShortcut,
        route=_route(app, "POST", ENROLL_PATH),
        settings=settings,
        clock=services.clock,
        revocations=services.revocations,
        enrollment=services.enrollment,
        rate_limit=rate_limit,
        handler_for=handlers_of(app.exception_handlers),
    )
    app.add_middleware(
        LoadShedding,
        limit=settings.max_in_flight,
        active=min(settings.max_active_requests, settings.db_pool_size + settings.db_max_overflow),
        on_shed=SHED_REQUESTS.inc,
    )
    app.add_middleware(MetricsPort, port=settings.metrics_port)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        larger={"/api/v1/admin/import/": settings.max_import_bytes},
    )
    app.add_middleware(
        ObservabilityMiddleware,
        served_by=served_by(settings.node_name, settings.pod_name, socket.gethostname()),
        access_log=settings.access_log,
        access_log_per_second=settings.access_log_per_second,
        watched=("POST", "/api/v1/enrollments"),
        on_watched=lambda seconds, error: services.queue.latency.record(seconds, error),
    )
    return app


def _route(app: FastAPI, method: str, path: str) -> APIRoute:
    """The route declared for `method path`, wherever its router was included."""

    def walk(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            yield route
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from walk(included.routes)

    return next(
        r
        for r in walk(app.routes)
        if isinstance(r, APIRoute) and r.path == path and method in (r.methods or ())
    )


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
    lets one of them take it (judging by the whole service's latency), whatever the replicas."""
    while True:
        await asyncio.sleep(services.settings.adaptive_period_seconds)
        try:
            await services.queue.adapt_rate()
        except Exception:  # a missed step is retried next period; never kill the loop
            log.warning("adaptive admission step failed", exc_info=True)


async def _publish_latency_forever(services: Services) -> None:
    """This worker's enroll answers added to the service's latency once a slice, off the
    request path (sugang.waitingroom.latency)."""
    while True:
        await asyncio.sleep(services.settings.adaptive_latency_slice_seconds)
        try:
            await services.queue.publish_latency()
        except Exception:  # the counts of one slice lost; never kill the loop
            log.warning("publishing the enroll latency failed", exc_info=True)


PURGE_PERIOD_SECONDS = 600


async def _purge_forever(services: Services) -> None:
    """Expired idempotency records and old token revocations, deleted every ten minutes."""
    while True:
        await asyncio.sleep(PURGE_PERIOD_SECONDS)
        try:
            await services.purge_expired()
        except Exception:  # the next period tries again
            log.warning("purging expired records failed", exc_info=True)
