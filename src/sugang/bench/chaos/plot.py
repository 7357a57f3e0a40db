"""A picture of one chaos run: answers per second by outcome, the p99 latency, and the fault
marked, so the error window is seen at a glance (matplotlib, drawn to a PNG)."""

from pathlib import Path

from sugang.bench.chaos.measure import Figures
from sugang.bench.plotting import new_figure, one_legend, save

COLOURS = {
    "enrolled": "#2a9d8f",
    "refused": "#8ab17d",
    "queue": "#d9e7ec",
    "503": "#f4a261",
    "other 5xx": "#e63946",
}


def draw(found: Figures, path: Path) -> Path:
    seconds = list(range(len(found.series["p99_ms"])))
    figure, (answers,) = new_figure()
    bottom = [0.0] * len(seconds)
    for kind, colour in COLOURS.items():
        values = found.series[kind]
        answers.bar(seconds, values, bottom=bottom, width=1.0, color=colour, label=kind)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    answers.set_xlabel("seconds into the rush")
    answers.set_ylabel("answers per second")
    latency = answers.twinx()
    latency.plot(seconds, found.series["p99_ms"], color="#264653", linewidth=1.5, label="p99")
    latency.set_ylabel("p99 latency (ms)")
    started, ended = found.fault["started"], found.fault["ended"]
    if started is not None:
        answers.axvspan(started, ended or started + 0.2, color="#e63946", alpha=0.12)
        answers.axvline(started, color="#e63946", linestyle="--", linewidth=1)
    verdict = "every target met" if found.ok else "targets missed"
    answers.set_title(f"{found.scenario}: fault shaded; {verdict}")
    one_legend([answers, latency])
    return save(figure, path)
