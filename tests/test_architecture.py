"""The layers hold (import-linter's contracts in pyproject.toml, drawn in docs/architecture.md),
and the check is not vacuous: an upward import or a cycle added to a copy of the code breaks it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the package found first on the path from `root`, with `root`'s config."""
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin", "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        (  # the catalog reaching up into enrollment
            "catalog/facts.py",
            "from sugang.enrollment import rules",
            "The top level points down",
        ),
        (  # the core reaching up into the process
            "db/engine.py",
            "import sugang.runtime",
            "The top level points down",
        ),
        (  # a service reaching up to its own router
            "enrollment/service.py",
            "from sugang.enrollment import api",
            "Inside a domain",
        ),
        (  # two siblings importing each other
            "enrollment/waitlist.py",
            "from sugang.enrollment import seats",
            "No cycles",
        ),
        (  # I/O in the pure rules
            "enrollment/rules.py",
            "import sqlalchemy",
            "are pure",
        ),
        (  # one domain using another's router
            "registrar/service.py",
            "from sugang.catalog import api",
            "another domain's router",
        ),
    ],
)
def test_an_upward_import_or_a_cycle_breaks_the_check(
    tmp_path: Path, module: str, added: str, broken: str
) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "src" / "sugang", tmp_path / "src" / "sugang")
    target = tmp_path / "src" / "sugang" / module
    target.write_text(target.read_text() + f"\n{added}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout
    broken_contracts = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert any(broken in line for line in broken_contracts), result.stdout
