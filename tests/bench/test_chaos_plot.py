"""The picture of a chaos run (sugang.bench.chaos.plot), drawn from answers made up here."""

from pathlib import Path

from matplotlib.image import imread

from sugang.bench.audit import AuditReport
from sugang.bench.chaos.measure import figures
from sugang.bench.chaos.plot import draw
from sugang.bench.chaos.rush import RushRun, Sample
from sugang.bench.chaos.scenarios import Fault
from sugang.seed.synthetic import SyntheticTerm


def test_a_run_is_drawn_with_its_fault_shaded(tmp_path: Path) -> None:
    term = SyntheticTerm(
        term_id=1, term_code="T", student_ids=[], section_ids=[1], hot_section_ids=[], password=""
    )
    samples = [Sample(t / 10, "enroll", 201, None, 0.01, False, "s", 1) for t in range(200)]
    samples += [Sample(10.5, "enroll", 503, "BUSY", 0.2, True, "s", 1)]
    run = RushRun(term, samples=samples, seconds=20.0)
    found = figures("replica-kill", run, Fault(started=10.0, ended=11.0), AuditReport())
    path = tmp_path / "chaos" / "replica-kill.png"

    assert draw(found, path) == path

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert imread(path).std() > 0.05
