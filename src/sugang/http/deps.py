"""FastAPI dependencies every router shares, as Annotated aliases.

They are all `async def` although none awaits: FastAPI runs a plain `def` dependency in a
worker thread, and those thread hops were a fifth of a request's CPU at the rush.

A handler receives the services it uses (each domain's `deps` names them with `provided`),
never the whole set the process holds (sugang.runtime, kept on `app.state.services`).
"""

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request

from sugang.clock import Clock
from sugang.config import Settings

MAX_ID = 2**31 - 1


def provided(name: str) -> Any:
    """A dependency that hands over one of the running process's services by name."""

    async def provide(request: Request) -> Any:
        return getattr(request.app.state.services, name)

    provide.__name__ = f"provide_{name}"
    return Depends(provide)


SettingsDep = Annotated[Settings, provided("settings")]
ClockDep = Annotated[Clock, provided("clock")]


async def preferred_language(accept_language: Annotated[str | None, Header()] = None) -> str:
    return language_of(accept_language)


def bearer(request: Request) -> str:
    """The bearer token of the request's Authorization header ("" if there is none)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def language_of(accept_language: str | None) -> str:
    """Korean unless the client's first preference is English."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ko"


Language = Annotated[str, Depends(preferred_language)]

SectionIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="section id")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
