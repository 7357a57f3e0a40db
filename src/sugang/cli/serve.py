"""`sugang serve`: uvicorn with the app factory, on the main port and, if asked, a metrics port
served by the same worker processes."""

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from sugang.config import Settings
from sugang.observability.logs import log_config

log = logging.getLogger("uvicorn.error")


def serve(
    host: Annotated[str | None, typer.Option(help="address to bind [env SUGANG_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [env SUGANG_PORT]")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes [env SUGANG_WORKERS]")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="also listen here, for /metrics only (then not on the main port) "
            "[env SUGANG_METRICS_PORT]",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the API (and, later, the web UI) over HTTP."""
    settings = Settings()
    _fresh_metrics_dir()
    # glibc gives each thread that allocates its own malloc arena and keeps what it freed:
    # after a 5,000-student login (argon2id in worker threads) a worker held 190 MB, 140 MB
    # with two arenas (measured; the worker processes read this when they start).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    host = host or settings.host
    os.environ["SUGANG_HOST"] = host  # the workers' health port binds it too
    metrics_port = metrics_port or settings.metrics_port
    if metrics_port is not None:
        os.environ["SUGANG_METRICS_PORT"] = str(metrics_port)  # the workers' app reads it
    config = uvicorn.Config(
        "sugang.app:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=log_level,
        log_config=log_config(log_level, settings.log_format),
        access_log=False,  # sugang's middleware writes the access log, with the request id
        timeout_graceful_shutdown=20,
    )
    if metrics_port is not None and metrics_port in {config.port, settings.health_port}:
        log.error("the metrics port %d is already the main or the health port", metrics_port)
        raise typer.Exit(1)
    sockets = [config.bind_socket()]
    if metrics_port is not None:
        sockets.append(_bind(host, metrics_port))
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        raise typer.Exit(3)  # uvicorn's own status for a failed start


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket the workers inherit, as uvicorn binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        log.error("cannot listen on the metrics port %s:%d: %s", host, port, error)
        sock.close()
        raise typer.Exit(3) from None
    log.info("Metrics on http://%s:%d/metrics", host, sock.getsockname()[1])
    sock.set_inheritable(True)
    return sock


def _fresh_metrics_dir() -> None:
    """Workers share their metric samples through files here (prometheus_client's
    multiprocess mode); it must be set before they start and empty at each start."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
    else:
        path = tempfile.mkdtemp(prefix="sugang-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    Path(path).mkdir(parents=True, exist_ok=True)
