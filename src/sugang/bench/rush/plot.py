"""A picture of one rush (`sugang bench rush --plot`): answers per second with the 2xx among
them and the room's admission rate above, the p50/p99 latency of each second below."""

import math
from pathlib import Path
from typing import Any

from sugang.bench.plotting import new_figure, one_legend, save
from sugang.bench.rush.timeline import Timeline

COLOURS = {
    "2xx": "#2a9d8f",
    "other": "#f4a261",
    "admission": "#6d597a",
    "p50": "#8ab17d",
    "p99": "#264653",
}


def plot_timeline(timeline: Timeline, path: Path, title: str) -> Path:
    # Second s is the span [s, s + 1): bars from its left edge, points at its middle.
    seconds = [s.second for s in timeline.seconds]
    middles = [s.second + 0.5 for s in timeline.seconds]
    figure, (throughput, latency) = new_figure(rows=2, height=7)
    succeeded = [s.answers_2xx for s in timeline.seconds]
    others = [s.answers - s.answers_2xx for s in timeline.seconds]
    throughput.bar(seconds, succeeded, width=1.0, align="edge", color=COLOURS["2xx"], label="2xx/s")
    throughput.bar(
        seconds,
        others,
        bottom=succeeded,
        width=1.0,
        align="edge",
        color=COLOURS["other"],
        label="other/s",
    )
    throughput.set_ylabel("answers per second")
    throughput.set_title(title)
    legend = [throughput]
    if timeline.has_admission_rate:
        room = throughput.twinx()
        rates = [_or_nan(s.admission_rate) for s in timeline.seconds]
        edges = [*seconds, len(seconds)]
        room.stairs(
            rates,
            edges,
            baseline=None,  # no drop to zero at the ends
            color=COLOURS["admission"],
            linewidth=1.5,
            label="admission rate",
        )
        room.set_ylabel("admissions per second")
        room.set_ylim(bottom=0)
        legend.append(room)
    one_legend(legend, loc="upper left")

    if timeline.has_latency:
        for quantile in ("p50", "p99"):
            line = [_or_nan(getattr(s, f"{quantile}_ms")) for s in timeline.seconds]
            latency.plot(middles, line, color=COLOURS[quantile], linewidth=1.5, label=quantile)
        latency.set_yscale("log")
        latency.legend(loc="upper left", fontsize=8)
    else:
        latency.text(
            0.5,
            0.5,
            "no latency per request from this driver",
            transform=latency.transAxes,
            ha="center",
            color="grey",
        )
        latency.set_yticks([])
    latency.set_ylabel("latency (ms)")
    latency.set_xlabel("seconds into the rush")
    return save(figure, path)


def rush_title(scenario: dict[str, Any]) -> str:
    """What was run, from a report's `scenario` (a RushScenario as a dict)."""
    mode = scenario["admission_mode"]
    room = f"room by {mode}"
    if not scenario["waiting_room"]:
        room = "no room"
    elif mode != "concurrency":  # "adaptive" starts at the rate
        room += f" at {scenario['admission_rate']:g}/s"
    return (
        f"{scenario['students']} students, {scenario['concurrency']} in flight, {room}, "
        f"driver {scenario.get('driver', 'aiohttp')}"
    )


def _or_nan(value: float | None) -> float:
    """A gap in the line where there is no value (a second without answers)."""
    return math.nan if value is None else value
