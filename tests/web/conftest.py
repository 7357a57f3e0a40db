"""Browser tests: real Chromium (Debian's package) driven by Playwright, against a real sugang
server on loopback with PostgreSQL and the demo data. `make test` installs Chromium when it is
missing; without it these tests fail with a message, they do not skip."""

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import make_url

from tests.conftest import _ensure_pg_database, pg_url
from tests.server import running_server, sugang

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "src" / "sugang" / "web" / "dist"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "sugang-demo-2027"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


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
    """A fresh database with the demo catalog and accounts, and a server on it."""
    url = make_url(pg_url()).set(database="sugang_web").render_as_string(hide_password=False)
    asyncio.run(_ensure_pg_database(url))
    sugang("db", "upgrade", database_url=url)
    sugang("seed", "--demo", database_url=url)
    log = tmp_path_factory.mktemp("web") / "server.log"
    with running_server(url, workers=1, log=log) as base:
        yield base


def api_login(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/#/login")
    page.get_by_label("학번 또는 아이디").fill(username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_function("() => !location.hash.includes('login')")


def shoot(page: Page, name: str) -> None:
    """docs/screenshots/<name>.png, what the screen shows (the README links them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def accessibility_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations of serious or critical impact on the page now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def fits_the_width(page: Page) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )
