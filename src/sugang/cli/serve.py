"""`sugang serve`: uvicorn with the app factory."""

from typing import Annotated

import typer
import uvicorn

from sugang.config import Settings


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
    uvicorn.run(
        "sugang.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
