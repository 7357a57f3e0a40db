"""`sugang registrar auto-enroll --term T`."""

import json
from datetime import datetime
from typing import Annotated, cast

import typer
from rich.progress import Progress

from sugang.cli.common import console, errors, run_with_services
from sugang.registrar.auto_enroll import AutoEnrollReport
from sugang.runtime import Services
from sugang.waitingroom.room import Mode, RoomStatus
from sugang.waitingroom.service import RoomChange

app = typer.Typer(help="Registrar operations.", no_args_is_help=True)


@app.command("auto-enroll")
def auto_enroll_command(
    term: Annotated[str, typer.Option(help="term code (e.g. 2027-1) or id")],
) -> None:
    """Enroll every basket entry of the sections whose basket demand fits their seats;
    contested sections are left for the live rush."""

    async def work(services: Services) -> AutoEnrollReport:
        term_id = await services.catalog.term_id_of(term)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("auto-enrolling", total=None)
            return await services.registrar.auto_enroll(
                term_id,
                actor_id=None,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )

    report = run_with_services(work)
    console.print_json(json.dumps(report.as_dict()))


@app.command("rush-mode")
def rush_mode_command(
    term: Annotated[str, typer.Option(help="term code (e.g. 2027-1) or id")],
    on: Annotated[bool | None, typer.Option("--on/--off", help="require the waiting room")] = None,
    mode: Annotated[str | None, typer.Option(help="rate, concurrency or adaptive")] = None,
    rate: Annotated[float | None, typer.Option(min=0.001, help="admissions per second")] = None,
    max_active: Annotated[int | None, typer.Option(min=1, help="concurrency mode cap")] = None,
    session_seconds: Annotated[int | None, typer.Option(min=10)] = None,
    opens_at: Annotated[
        datetime | None, typer.Option(help="the opening (lottery) instant, ISO 8601 with zone")
    ] = None,
    paused: Annotated[bool | None, typer.Option("--pause/--resume")] = None,
    accepting: Annotated[bool | None, typer.Option("--accept/--close", help="new tickets")] = None,
    reset: Annotated[bool, typer.Option(help="forget every ticket (a rehearsal)")] = False,
) -> None:
    """Turn rush mode on or off and steer the waiting room; prints the room's state.

    With SUGANG_REDIS_URL set this steers the room every replica shares. Without it (the
    embedded in-process room) only rush mode itself reaches the running server: change the
    rate and mode through the API instead."""
    if mode is not None and mode not in ("rate", "concurrency", "adaptive"):
        errors.print("--mode must be rate, concurrency or adaptive")
        raise typer.Exit(2)
    if opens_at is not None and opens_at.tzinfo is None:
        errors.print("--opens-at needs a time zone, e.g. 2027-02-15T10:00:00+09:00")
        raise typer.Exit(2)

    async def work(services: Services) -> dict[str, object]:
        term_id = await services.catalog.term_id_of(term)
        change = RoomChange(
            rush_mode=on,
            mode=cast(Mode | None, mode),
            rate=rate,
            max_active=max_active,
            session_seconds=session_seconds,
            opens_at=opens_at,
            paused=paused,
            accepting=accepting,
            reset=reset,
        )
        rush, status = await services.queue.change(term_id, change, actor_id=None)
        return {"term_id": term_id, "rush_mode": rush, **_status_dict(status)}

    console.print_json(json.dumps(run_with_services(work)))


def _status_dict(status: RoomStatus) -> dict[str, object]:
    return {
        "accepting": status.accepting,
        "paused": status.paused,
        "opens_at": status.opens_at,
        "mode": status.policy.mode,
        "rate": status.policy.rate,
        "max_active": status.policy.max_active,
        "joined": status.joined,
        "admitted": status.admitted,
        "waiting": status.waiting,
        "active": status.active,
    }
