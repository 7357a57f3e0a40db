"""The journeys students, professors and registrar staff take, in a real browser."""

import gzip
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.support.browser import (
    DESKTOP,
    DIST,
    PHONE,
    accessibility_problems,
    api_login,
    fits_the_width,
    login,
    shoot,
)

pytestmark = pytest.mark.slow


def section_id(base: str, headers: dict[str, str], code: str, number: int = 1) -> int:
    page = httpx.get(f"{base}/api/v1/sections", params={"q": code}, headers=headers).json()
    return next(
        s["id"] for s in page["items"] if s["course_code"] == code and s["number"] == number
    )


def room(base: str, admin: dict[str, str], **change: object) -> dict[str, object]:
    term = httpx.get(f"{base}/api/v1/terms/current", headers=admin).json()["id"]
    answer = httpx.patch(
        f"{base}/api/v1/admin/terms/{term}/waiting-room", json=change, headers=admin
    )
    answer.raise_for_status()
    return dict(answer.json())


@pytest.fixture
def phone(browser: Browser) -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    return context.new_page()


@pytest.fixture
def desktop(browser: Browser) -> Page:
    return browser.new_context(viewport=DESKTOP).new_page()


def test_the_ui_is_small_and_cached_by_content(server: str) -> None:
    assets = list((DIST / "assets").glob("*.js")) + list((DIST / "assets").glob("*.css"))
    compressed = sum(len(gzip.compress(path.read_bytes(), 9)) for path in assets)
    assert compressed <= 150 * 1024, f"{compressed} bytes of JS+CSS, gzipped"
    script = next(p.name for p in assets if p.suffix == ".js")
    answer = httpx.get(f"{server}/assets/{script}", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Content-Encoding"] == "gzip"
    assert httpx.get(f"{server}/").headers["Cache-Control"] == "no-cache"


def test_a_student_waits_in_the_queue_then_enrolls_clashes_and_drops(
    server: str, phone: Page
) -> None:
    admin = api_login(server, "admin")
    room(server, admin, rush_mode=True, reset=True, paused=True, mode="rate", rate=50.0)
    try:
        login(phone, server, "20230001")
        expect(phone.get_by_role("heading", name="학기 일정")).to_be_visible()
        shoot(phone, "student-home-phone-ko")
        assert fits_the_width(phone)

        # the waiting room, paused: a place, the fair-order explanation, live updates
        phone.get_by_role("button", name="수강신청 들어가기").click()
        expect(phone.locator("#queue-position")).to_contain_text("1")
        expect(phone.locator("#queue-mode")).to_have_text("실시간 연결")
        expect(phone.get_by_text("추첨으로 섞이고")).to_be_visible()
        assert accessibility_problems(phone) == []
        shoot(phone, "queue-phone-ko")

        room(server, admin, paused=False)  # admitted: the stream says so, the page moves on
        phone.wait_for_url("**/#/search", timeout=10_000)

        # the basket: put a section in, enroll from it in one click
        student = api_login(server, "20230001")
        cse1001 = section_id(server, student, "CSE1001")
        httpx.post(f"{server}/api/v1/basket", json={"section_id": cse1001}, headers=student)
        phone.goto(f"{server}/#/basket")
        card = phone.locator(f"[data-section='{cse1001}']")
        card.get_by_role("button", name="신청").click()
        expect(phone.get_by_role("alert")).to_contain_text("신청 완료")

        # a clash, read in plain words: which course, which time
        phone.goto(f"{server}/#/search")
        phone.get_by_label("과목코드, 과목명, 교수명").fill("MATH1010")
        expect(phone.locator("tbody tr")).to_have_count(2)  # the search has run
        math = phone.locator("tr", has_text="MATH1010-1")
        math.get_by_role("button", name="신청").click()
        notice = phone.get_by_role("alert")
        expect(notice).to_contain_text("시간 충돌")
        expect(notice).to_contain_text("CSE1001")
        assert fits_the_width(phone)
        shoot(phone, "refusal-phone-ko")

        # the timetable, then a confirmed drop
        phone.goto(f"{server}/#/timetable")
        expect(phone.locator(".slot", has_text="CSE1001")).to_have_count(2)
        assert accessibility_problems(phone) == []
        assert fits_the_width(phone)
        shoot(phone, "timetable-phone-ko")
        phone.once("dialog", lambda dialog: dialog.accept())
        phone.locator(f"[data-section='{cse1001}']").get_by_role("button", name="수강 취소").click()
        expect(phone.get_by_text("신청한 강좌가 없습니다.")).to_be_visible()
    finally:
        room(server, admin, rush_mode=False, paused=False)


def test_a_full_section_offers_the_waitlist(server: str, desktop: Page) -> None:
    admin = api_login(server, "admin")
    bus = section_id(server, admin, "BUS2030")
    for number in ("20260004", "20250006"):  # the two seats go
        httpx.post(
            f"{server}/api/v1/enrollments",
            json={"section_id": bus},
            headers=api_login(server, number),
        )
    login(desktop, server, "20220005")
    desktop.get_by_role("button", name="English").click()
    desktop.goto(f"{server}/#/search")
    desktop.get_by_label("Course code, title or professor").fill("BUS2030")
    expect(desktop.locator("tbody tr")).to_have_count(1)
    desktop.locator("tr", has_text="BUS2030-1").get_by_role("button", name="Enroll").click()
    notice = desktop.get_by_role("alert")
    expect(notice).to_contain_text("Section full")
    notice.get_by_role("button", name="Join waitlist").click()
    expect(notice).to_contain_text("Waitlist #1")
    assert accessibility_problems(desktop) == []
    shoot(desktop, "search-desktop-en")


def test_a_professor_sees_the_roster(server: str, desktop: Page) -> None:
    admin = api_login(server, "admin")
    cse2010 = section_id(server, admin, "CSE2010")
    httpx.post(
        f"{server}/api/v1/enrollments",
        json={"section_id": cse2010},
        headers=api_login(server, "20240002"),
    )
    login(desktop, server, "lee.cs")
    desktop.locator("li", has_text="CSE2010-1").get_by_role("button", name="수강생 명단").click()
    roster = desktop.locator("table", has_text="수강생 명단")
    expect(roster).to_contain_text("20240002")
    expect(roster).to_contain_text("김하은")
    assert accessibility_problems(desktop) == []
    shoot(desktop, "professor-roster-desktop-ko")


def test_the_registrar_imports_a_bad_file_and_flips_rush_mode(server: str, desktop: Page) -> None:
    admin = api_login(server, "admin")
    before = httpx.get(f"{server}/api/v1/admin/courses", headers=admin).json()
    login(desktop, server, "admin")
    csv = (
        "term_code,course_code,title_ko,title_en,credits,department_code,section_number,capacity\n"
        "2027-1,ART1001,미술의 이해,Understanding Art,3,KOR,1,30\n"
        "2027-1,ART1002,,No Korean title,three,NOPE,1,30\n"
    )
    desktop.get_by_label("종류").select_option("catalog")
    desktop.get_by_label("파일").set_input_files(
        files=[{"name": "catalog.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    desktop.get_by_role("button", name="가져오기").click()
    result = desktop.locator("#import-result")
    expect(result).to_contain_text("아무것도 저장하지 않았습니다")
    problems = result.locator("table.problems tbody tr")
    expect(problems.first).to_contain_text("3")  # the bad row, numbered as a spreadsheet does
    assert problems.count() >= 2  # every problem of the row: the title, the credits, ...
    after = httpx.get(f"{server}/api/v1/admin/courses", headers=admin).json()
    assert len(after) == len(before)  # not even the good row

    desktop.get_by_label("대기열 사용").check()
    desktop.get_by_role("button", name="적용").click()
    expect(desktop.get_by_text("저장했습니다.")).to_be_visible()
    assert room(server, admin)["rush_mode"] is True
    assert accessibility_problems(desktop) == []
    shoot(desktop, "registrar-desktop-ko")
    room(server, admin, rush_mode=False)


def test_the_dashboard_moves_while_a_small_rush_runs(server: str, desktop: Page) -> None:
    login(desktop, server, "admin")
    desktop.goto(f"{server}/#/dashboard")
    outcomes = desktop.locator("#dash-outcomes")
    students = [api_login(server, n) for n in ("20230001", "20240002", "20250003", "20260004")]
    admin = api_login(server, "admin")
    sections = [section_id(server, admin, c) for c in ("CSE3080", "BUS1001", "KOR2050", "PHYS1011")]
    stop = threading.Event()

    def rush() -> None:  # a few students clicking for a few seconds
        with httpx.Client(base_url=server) as client:
            while not stop.is_set():
                for headers in students:
                    for section in sections:
                        client.post(
                            "/api/v1/enrollments", json={"section_id": section}, headers=headers
                        )
                time.sleep(0.05)

    worker = threading.Thread(target=rush)
    worker.start()
    try:
        expect(outcomes.locator("li")).not_to_have_count(0, timeout=10_000)
        first = outcomes.inner_text()
        desktop.wait_for_timeout(4500)
        assert outcomes.inner_text() != first  # the rates moved with the traffic
    finally:
        stop.set()
        worker.join()
    expect(desktop.locator("#dash-nodes li")).not_to_have_count(0)
    assert accessibility_problems(desktop) == []
    shoot(desktop, "dashboard-desktop-ko")


# Sixty clicks in about a second and a half, each on a button not already busy.
SIXTY_CLICKS = """async () => {
  let clicks = 0;
  for (let i = 0; i < 60; i++) {
    const idle = [...document.querySelectorAll("tr[data-section] .actions button")]
      .filter((b) => !b.disabled);
    if (idle.length) { idle[i % idle.length].click(); clicks++; }
    await new Promise((r) => setTimeout(r, 25));
  }
  return clicks;
}"""


def test_no_click_storm_reaches_the_server(server: str, desktop: Page) -> None:
    login(desktop, server, "20250003")
    desktop.goto(f"{server}/#/search")
    expect(desktop.locator("tbody tr").first).to_be_visible()
    sent: list[str] = []

    def count(request: Request) -> None:
        # the home page's clock samples (four GET /api/v1/time, one after another) may still
        # be on their way after the move to the search page: they are not the page's requests
        if "/api/" in request.url and "/api/v1/time" not in request.url:
            sent.append(request.url)

    desktop.on("request", count)

    desktop.get_by_label("과목코드, 과목명, 교수명").press_sequentially("KOR1001 글쓰기와 소통")
    desktop.wait_for_timeout(1000)
    assert len(sent) <= 2, f"typing sent {len(sent)} searches"  # one, after the last key

    desktop.get_by_label("과목코드, 과목명, 교수명").fill("")
    expect(desktop.locator("tbody tr")).to_have_count(16)  # every section again
    sent.clear()
    clicks = desktop.evaluate(SIXTY_CLICKS)
    assert clicks >= 30  # (a button stays disabled while its request waits its turn)
    desktop.wait_for_timeout(2000)
    # at most a burst of 20 and 2 a second, whatever the clicks and the reloads they cause
    assert len(sent) <= 20 + 2 * 4, f"{len(sent)} requests in about 4 s"


def test_phone_and_desktop_layouts_in_both_languages(server: str, browser: Browser) -> None:
    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = browser.new_context(viewport=viewport).new_page()
        login(page, server, "20250006")
        for lang in ("ko", "en"):
            page.evaluate(f"localStorage.setItem('sugang.lang', '{lang}')")
            page.goto(f"{server}/#/search")
            page.reload()
            expect(page.locator("table.sections")).to_be_visible()
            assert fits_the_width(page), f"{name} {lang} overflows"
            shoot(page, f"search-{name}-{lang}")
        page.context.close()


def test_the_countdown_runs_on_the_servers_clock(server: str, phone: Page) -> None:
    admin = api_login(server, "admin")
    term = httpx.get(f"{server}/api/v1/terms/current", headers=admin).json()
    windows = term["enrollment_windows"]
    later = [
        {**w, "opens_at": (datetime.now(UTC) + timedelta(hours=1, minutes=2)).isoformat()}
        if w["year_group"] == 2
        else w
        for w in windows
    ]
    patch = f"{server}/api/v1/admin/terms/{term['id']}"
    httpx.patch(patch, json={"enrollment_windows": later}, headers=admin).raise_for_status()
    try:
        login(phone, server, "20250003")  # a second-year student: their window opens later
        display = phone.locator(".countdown")
        expect(display).to_have_text(re.compile(r"^01:0[12]:\d\d\.\d$"))
        expect(phone.locator("#clock-offset")).to_contain_text("서버 시각 기준")
        first = display.inner_text()
        phone.wait_for_timeout(1200)
        assert display.inner_text() != first  # it runs
        assert accessibility_problems(phone) == []
        shoot(phone, "countdown-phone-ko")
    finally:
        httpx.patch(patch, json={"enrollment_windows": windows}, headers=admin).raise_for_status()


def test_the_registrar_adds_a_course_and_a_section(server: str, desktop: Page) -> None:
    login(desktop, server, "admin")
    form = desktop.locator("form", has=desktop.get_by_role("heading", name="과목 추가"))
    form.get_by_label("과목코드").fill("ART2001")
    form.get_by_label("과목명 (한국어)").fill("현대미술")
    form.get_by_label("과목명 (English)").fill("Modern Art")
    form.get_by_label("학과").fill("KOR")
    form.get_by_role("button", name="과목 추가").click()
    expect(form.get_by_role("alert")).to_contain_text("저장했습니다")
    section = desktop.locator("form", has=desktop.get_by_role("heading", name="분반 추가"))
    section.get_by_label("과목코드").fill("ART2001")
    section.get_by_role("button", name="분반 추가").click()
    expect(desktop.get_by_role("alert").filter(has_text="저장했습니다")).to_have_count(2)
    admin = api_login(server, "admin")
    found = httpx.get(f"{server}/api/v1/sections", params={"q": "ART2001"}, headers=admin).json()
    assert [s["capacity"] for s in found["items"]] == [40]
