"""The picture of a rush (sugang.bench.rush.plot), drawn from timelines made up here."""

from dataclasses import asdict
from pathlib import Path

import pytest
from matplotlib.image import imread

from sugang.bench.rush.plot import plot_timeline, rush_title
from sugang.bench.rush.scenario import RushScenario
from sugang.bench.rush.timeline import Second, Timeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _climbing_rush() -> Timeline:
    return Timeline(
        [
            Second(
                second,
                answers=100 * second,
                answers_2xx=80 * second,
                p50_ms=5.0 + second if second else None,
                p99_ms=40.0 + 10 * second if second else None,
                admission_rate=200.0 + 20 * second,
            )
            for second in range(30)
        ]
    )


def _assert_a_drawn_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 10_000
    pixels = imread(path)
    assert pixels.std() > 0.05  # not one colour


def test_throughput_latency_and_the_admission_rate_are_drawn(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "rush.png"

    written = plot_timeline(_climbing_rush(), path, "rush")

    assert written == path
    _assert_a_drawn_png(path)


def test_counts_alone_are_drawn_without_a_latency_line(tmp_path: Path) -> None:
    timeline = Timeline.from_counts([{"201": 300 + n, "409": 50} for n in range(20)])
    path = tmp_path / "wrk.png"

    plot_timeline(timeline, path, "wrk")

    _assert_a_drawn_png(path)


@pytest.mark.parametrize(
    ("room", "mode", "expected"),
    [
        (True, "rate", "room by rate at 400/s"),
        (True, "concurrency", "room by concurrency,"),
        (False, "rate", "no room"),
    ],
)
def test_the_title_says_how_students_were_let_in(room: bool, mode: str, expected: str) -> None:
    scenario = asdict(RushScenario(url="http://x", waiting_room=room, admission_mode=mode))

    assert expected in rush_title(scenario)
