"""`sugang serve`: uvicorn with the app factory."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from sugang.config import Settings
from sugang.observability.logs import log_config


def serve(
    host: Annotated[str | None, typer.Option(help="address to bind [env SUGANG_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [env SUGANG_PORT]")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes [env SUGANG_WORKERS]")
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
    os.environ["SUGANG_HOST"] = host or settings.host  # the workers' health port binds it too
    uvicorn.run(
        "sugang.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=log_level,
        log_config=log_config(log_level, settings.log_format),
        access_log=False,  # sugang's middleware writes the access log, with the request id
        timeout_graceful_shutdown=20,
    )


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
