"""The rush second by second (sugang.bench.rush.timeline), from answers made up here, and the
admission rate read from a stand-in registrar API."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sugang.bench.load import Answer, Attempt
from sugang.bench.rush.scenario import RushScenario
from sugang.bench.rush.timeline import AdmissionRates, Timeline, sample_admission_rate
from sugang.seed.synthetic import SyntheticTerm


def _answer(sent_at: float, seconds: float, status: int = 201) -> Answer:
    code = None if status == 201 else "SECTION_FULL"
    return Answer(Attempt("20260001", 1), status, code, seconds, sent_at)


def _rush() -> list[Answer]:
    # Second 0: 100 answers taking 1..100 ms, the 60 quickest enrolled, the rest refused.
    first = [_answer(100.1, k / 1000, 201 if k <= 60 else 409) for k in range(1, 101)]
    # Sent in second 1, answered in second 2: it counts where it was answered.
    late = _answer(101.9, 0.3)
    return [*first, late]


def test_answers_fall_in_the_second_they_were_answered_in() -> None:
    timeline = Timeline.from_answers(_rush())

    assert [(s.second, s.answers, s.answers_2xx) for s in timeline.seconds] == [
        (0, 100, 60),
        (1, 0, 0),
        (2, 1, 1),
    ]
    assert (timeline.seconds[0].p50_ms, timeline.seconds[0].p99_ms) == (50.0, 99.0)
    assert (timeline.seconds[1].p50_ms, timeline.seconds[1].p99_ms) == (None, None)
    assert (timeline.seconds[2].p50_ms, timeline.seconds[2].p99_ms) == (300.0, 300.0)
    assert not timeline.has_admission_rate


def test_the_room_readings_set_second_zero_and_the_rate_of_each_second() -> None:
    readings = [(0.2, 400.0), (1.2, 400.0), (2.3, 250.0), (3.1, 250.0)]
    admission = AdmissionRates(started=99.5, readings=readings)

    timeline = Timeline.from_answers(_rush(), admission)

    assert [s.answers for s in timeline.seconds] == [100, 0, 1, 0]  # 100.6 s, 102.7 s
    assert [s.admission_rate for s in timeline.seconds] == [400.0, 400.0, 250.0, 250.0]


def test_no_rate_before_the_first_reading() -> None:
    admission = AdmissionRates(started=0.0, readings=[(1.5, 100.0)])

    assert (admission.at(0), admission.at(1), admission.at(7)) == (None, 100.0, 100.0)


def test_counts_per_second_make_a_timeline_without_latency() -> None:
    per_second = [{"201": 5, "409 SECTION_FULL": 0, "409": 3}, {}, {201: 2, 503: 1}]

    timeline = Timeline.from_counts(per_second)

    assert [(s.answers, s.answers_2xx) for s in timeline.seconds] == [(8, 5), (0, 0), (3, 2)]
    assert not timeline.has_latency
    assert all(s.admission_rate is None for s in timeline.seconds)


def test_counts_run_on_while_the_room_was_read() -> None:
    admission = AdmissionRates(started=0.0, readings=[(0.1, 50.0), (3.2, 80.0)])

    timeline = Timeline.from_counts([{"201": 1}], admission)

    assert [s.answers for s in timeline.seconds] == [1, 0, 0, 0]
    assert [s.admission_rate for s in timeline.seconds] == [50.0, 50.0, 50.0, 80.0]


def test_rows_go_through_json_and_back() -> None:
    admission = AdmissionRates(started=99.5, readings=[(0.2, 400.0)])
    timeline = Timeline.from_answers(_rush(), admission)

    rows = json.loads(json.dumps(timeline.rows()))

    assert Timeline.from_rows(rows) == timeline
    assert set(rows[0]) == {
        "second",
        "answers",
        "answers_2xx",
        "p50_ms",
        "p99_ms",
        "admission_rate",
    }


# --- reading the room -----------------------------------------------------------------------

TERM = SyntheticTerm(
    term_id=7,
    term_code="T",
    student_ids=[],
    section_ids=[],
    hot_section_ids=[],
    password="",
    admin_password="registrar-password",
)


@pytest.fixture
async def registrar() -> AsyncIterator[str]:
    """The two endpoints the sampler calls: the token, then the room (its rate going up)."""
    rates = iter(range(100, 10_000, 100))

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        assert form["password"] == TERM.admin_password
        return web.json_response({"access_token": "t"})

    async def room(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer t"
        return web.json_response({"mode": "rate", "rate": float(next(rates))})

    app = web.Application()
    app.router.add_post("/api/v1/auth/token", token)
    app.router.add_get(f"/api/v1/admin/terms/{TERM.term_id}/waiting-room", room)
    async with TestServer(app) as server:
        yield str(server.make_url("")).rstrip("/")


async def test_the_rate_is_read_every_period_while_the_block_runs(registrar: str) -> None:
    scenario = RushScenario(url=registrar)

    async with sample_admission_rate(TERM, scenario, period=0.05) as admission:
        assert admission is not None
        while len(admission.readings) < 3:
            await asyncio.sleep(0.01)
    read = len(admission.readings)
    await asyncio.sleep(0.1)

    assert len(admission.readings) == read  # stopped with the block
    assert [rate for _, rate in admission.readings[:3]] == [100.0, 200.0, 300.0]
    moments = [at for at, _ in admission.readings]
    assert moments == sorted(moments) and moments[0] < 0.05


async def test_nothing_is_read_when_the_room_is_off() -> None:
    scenario = RushScenario(url="http://127.0.0.1:9", waiting_room=False)

    async with sample_admission_rate(TERM, scenario) as admission:
        assert admission is None
