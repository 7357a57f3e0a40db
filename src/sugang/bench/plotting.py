"""What the benches' pictures share: a figure drawn without a screen, one legend for an axis
and its twin, and the file written."""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def can_plot() -> bool:
    """Whether matplotlib is installed (it comes with the dev extra, not with the service)."""
    return importlib.util.find_spec("matplotlib") is not None


def new_figure(rows: int = 1, height: float = 4.5) -> tuple["Figure", list["Axes"]]:
    """A figure of `rows` panels, one above the other, sharing their x axis."""
    # A Figure made without pyplot draws with Agg, whatever backend the environment would
    # pick: no screen needed, and no global state touched. matplotlib is imported here so
    # that the benches load without it.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height), dpi=110, layout="tight")
    panels = figure.subplots(rows, 1, sharex=True, squeeze=False)
    return figure, list(panels[:, 0])


def one_legend(
    axes: Sequence["Axes"], loc: Literal["upper left", "upper right"] = "upper right"
) -> None:
    """The lines of an axis and of its twins in one legend, drawn on the last of them (a
    twin is drawn over its axis: a legend below it would be crossed by its lines)."""
    handles, labels = [], []
    for axis in axes:
        more_handles, more_labels = axis.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    axes[-1].legend(handles, labels, loc=loc, fontsize=8)


def save(figure: "Figure", path: Path) -> Path:
    """Write the figure (PNG for a .png path), creating the folder if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
