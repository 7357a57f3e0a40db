"""Shared by the tests that run real `sugang serve` processes."""

from pathlib import Path

import pytest

from tests.support.server import sugang


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    sugang("db", "upgrade", database_url=url)
    sugang("seed", "--demo", database_url=url)
    return url
