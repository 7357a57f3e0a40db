"""`sugang bench rush` without a server: what its options check before anything runs."""

import json
from pathlib import Path

from typer.testing import CliRunner

from sugang.cli import app

runner = CliRunner()


def test_compare_prints_two_reports_and_plots_nothing(tmp_path: Path) -> None:
    report = {"scenario": {"waiting_room": True}, "load": {"attempts_per_second": 812.5}}
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(report))
    second.write_text(json.dumps(report | {"timeline": [{"second": 0}]}))
    plot = tmp_path / "rush.png"

    result = runner.invoke(
        app, ["bench", "rush", "--compare", str(first), str(second), "--plot", str(plot)]
    )

    assert result.exit_code == 0, result.output
    assert "812.5" in result.output
    assert not plot.exists()


def test_rush_offers_a_plot() -> None:
    result = runner.invoke(app, ["bench", "rush", "--help"])

    assert result.exit_code == 0 and "--plot" in result.output
