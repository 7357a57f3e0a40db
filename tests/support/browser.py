"""What the browser tests share: viewports, the demo's password, logging in, screenshots,
accessibility and layout checks."""

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]


DIST = ROOT / "src" / "sugang" / "web" / "dist"


AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


SCREENSHOTS = ROOT / "docs" / "screenshots"


PASSWORD = "sugang-demo-2027"


PHONE = {"width": 360, "height": 740}


DESKTOP = {"width": 1280, "height": 860}


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
    # evaluated through the browser's debugging protocol: the page's Content-Security-Policy
    # (no script but its own files) would refuse a <script> tag added to it
    page.evaluate(AXE.read_text() + "\n;0")
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
