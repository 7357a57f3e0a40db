"""With the ticket challenge on (SUGANG_TICKET_CHALLENGE=pow), a student on a phone still just
taps "enter": the page solves the proof of work by itself and takes its place in the queue."""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import PHONE, api_login, login
from tests.support.server import demo_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def challenged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"SUGANG_TICKET_CHALLENGE": "pow", "SUGANG_TICKET_CHALLENGE_BITS": "14"}
    with demo_server(tmp_path_factory, "sugang_web_pow", env) as base:
        yield base


def test_the_queue_page_solves_the_challenge_by_itself(challenged: str, browser: Browser) -> None:
    admin = api_login(challenged, "admin")
    term = httpx.get(f"{challenged}/api/v1/terms/current", headers=admin).json()["id"]
    httpx.patch(
        f"{challenged}/api/v1/admin/terms/{term}/waiting-room",
        json={"rush_mode": True, "paused": True},
        headers=admin,
    ).raise_for_status()
    student = api_login(challenged, "20230001")
    bare = httpx.post(f"{challenged}/api/v1/queue/tickets", headers=student)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()

    login(phone, challenged, "20230001")
    phone.get_by_role("button", name="수강신청 들어가기").click()

    assert bare.status_code == 428 and bare.json()["code"] == "CHALLENGE_REQUIRED"
    expect(phone.locator("#queue-position")).to_contain_text("1", timeout=15_000)
