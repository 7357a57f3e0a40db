"""Browser tests: real Chromium (Debian's package) driven by Playwright, against a real sugang
server on loopback with PostgreSQL and the demo data. `make test` installs Chromium when it is
missing; without it these tests fail with a message, they do not skip."""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import AXE, DIST
from tests.support.server import demo_server


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed: `make test` installs Debian's `chromium` package (as "
            "root); or install it yourself (apt-get install chromium)"
        )
    if not (DIST / "index.html").is_file() or not AXE.is_file():
        pytest.fail("the web UI is not built: run `make test` (it runs npm ci and the build)")
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(tmp_path_factory, "sugang_web") as base:
        yield base
