"""One chaos run per scenario: a fresh topology, a fresh rush, the fault at its moment, the
audit, the figures (and a picture if asked)."""

import asyncio
import shutil
import signal
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sugang.bench.audit import audit_term
from sugang.bench.chaos import packages
from sugang.bench.chaos.measure import Figures, figures
from sugang.bench.chaos.rush import ChaosRush, prepare, run_rush
from sugang.bench.chaos.scenarios import SCENARIOS, Fault
from sugang.bench.chaos.topology import Shape, Topology
from sugang.db import Database


@dataclass(frozen=True)
class ChaosPlan:
    scenarios: tuple[str, ...]
    rush: ChaosRush = ChaosRush()
    shape: Shape = Shape()
    fault_at: float = 15.0  # seconds into the rush
    plot: Path | None = None
    root: Path | None = None  # where the servers' data and logs go (a temporary directory)


async def run_one(name: str, plan: ChaosPlan, root: Path, say: Callable[[str], None]) -> Figures:
    """The scenario's servers' data and logs are removed when it meets every target, and kept
    (and named) when it does not."""
    topology = Topology(root / name, plan.shape)
    found: Figures | None = None
    try:
        await topology.start(say)
        settings = topology.settings()
        say(f"{name}: seeding {plan.rush.students} students and logging them in")
        term, tokens = await prepare(topology.url, settings, plan.rush)
        fault = Fault()

        async def inject(clock: Callable[[], float]) -> None:
            await SCENARIOS[name](topology, clock, plan.fault_at, fault)

        say(f"{name}: the rush, the fault at {plan.fault_at:g} s")
        run = await run_rush(topology.url, term, tokens, plan.rush, inject)
        say(f"{name}: auditing the database against {len(run.samples)} answers")
        told = [(s.student, s.section) for s in run.samples if s.status == 201 and s.student]
        database = Database(settings)
        try:
            async with database.transaction(write=False) as conn:
                audit = await audit_term(conn, term.term_id, told)  # type: ignore[arg-type]
        finally:
            await database.dispose()
        found = figures(name, run, fault, audit)
        if plan.plot is not None:
            from sugang.bench.chaos.plot import draw

            draw(found, plan.plot / f"{name}.png")
        return found
    finally:
        await topology.stop()
        if found is not None and found.ok:
            shutil.rmtree(root / name, ignore_errors=True)
        else:
            say(f"{name}: the servers' logs are kept in {root / name}")


async def run_chaos(plan: ChaosPlan, say: Callable[[str], None] = lambda _: None) -> list[Figures]:
    """Every scenario in turn. A SIGTERM or SIGINT stops the run and still tears the topology
    down (no server or namespace is left behind)."""
    await asyncio.to_thread(packages.ensure)
    base = plan.root or Path(tempfile.mkdtemp(prefix="sugang-chaos-"))
    base.chmod(0o755)  # PostgreSQL runs as its own user, below it
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    assert current is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, current.cancel)
    try:
        return [await run_one(name, plan, base, say) for name in plan.scenarios]
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if plan.root is None and not any(base.iterdir()):
            base.rmdir()


def report(results: list[Figures]) -> dict[str, Any]:
    return {
        "ok": all(r.ok for r in results),
        "scenarios": {
            r.scenario: {k: v for k, v in asdict(r).items() if k != "series"} | {"ok": r.ok}
            for r in results
        },
    }
