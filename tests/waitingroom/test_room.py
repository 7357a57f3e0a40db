"""The waiting room's order and admission, the same tests on both backends (memory, Redis)."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from sugang.errors import QueueClosed, QueueUnavailable
from sugang.waitingroom.memory import MemoryWaitingRoom
from sugang.waitingroom.redis_room import RedisWaitingRoom
from sugang.waitingroom.room import Place, Policy, WaitingRoom, poll_after

REDIS_URL = "redis://127.0.0.1:6379/15"
TERM, OPENS = 1, 1_000_000.0
SEED = 2027


@pytest.fixture(params=["memory", "redis"])
async def room(request: pytest.FixtureRequest) -> AsyncIterator[WaitingRoom]:
    backend: WaitingRoom
    if request.param == "memory":
        backend = MemoryWaitingRoom(random.Random(SEED))
    else:
        backend = RedisWaitingRoom(
            REDIS_URL, random.Random(SEED), prefix=f"test-{uuid.uuid4().hex}"
        )
    await backend.configure(TERM, opens_at=OPENS, policy=Policy(rate=10.0))
    yield backend
    await backend.reset(TERM)
    await backend.close()


async def positions(room: WaitingRoom, students: range, now: float) -> list[int | None]:
    return [p.position if (p := await room.place(TERM, s, now)) else None for s in students]


async def test_tickets_before_opening_are_shuffled_at_opening(room: WaitingRoom) -> None:
    for student in range(1, 21):
        early = await room.join(TERM, student, OPENS - 60 + student)
        assert early.position is None and early.eta_seconds == 60 - student

    drawn = await positions(room, range(1, 21), OPENS)

    assert sorted(p for p in drawn if p) == list(range(1, 21))
    expected = list(range(1, 21))
    random.Random(SEED).shuffle(expected)  # the draw is the injected RNG's, reproducibly
    assert [drawn[s - 1] for s in expected] == list(range(1, 21))
    assert drawn != list(range(1, 21))  # not arrival order


async def test_after_opening_it_is_first_come_first_served(room: WaitingRoom) -> None:
    await room.join(TERM, 1, OPENS - 1)
    late = [await room.join(TERM, s, OPENS + s) for s in (7, 5, 9)]
    assert [p.position for p in late] == [2, 3, 4]


async def test_asking_again_returns_the_same_place(room: WaitingRoom) -> None:
    first = await room.join(TERM, 42, OPENS + 0.001)
    again = await room.join(TERM, 42, OPENS + 0.002)
    assert first.position == again.position == 1
    assert (await room.status(TERM, OPENS + 0.003)).joined == 1


async def test_admission_follows_the_rate(room: WaitingRoom) -> None:
    for student in range(1, 51):
        await room.join(TERM, student, OPENS)

    admitted = [(await room.status(TERM, OPENS + t)).admitted for t in (0.0, 1.0, 2.5)]

    assert admitted == [0, 10, 25]
    place = await room.place(TERM, 30, OPENS + 2.5)
    assert place is not None and not place.admitted and place.ahead == 4
    assert place.eta_seconds == 0.5  # 5 more positions at 10 per second


async def test_a_pause_admits_nobody_and_resuming_does_not_burst(room: WaitingRoom) -> None:
    for student in range(1, 51):
        await room.join(TERM, student, OPENS)
    await room.status(TERM, OPENS + 1.0)
    await room.configure(TERM, paused=True)
    assert (await room.status(TERM, OPENS + 3.0)).admitted == 10
    await room.configure(TERM, paused=False)
    assert (await room.status(TERM, OPENS + 3.0)).admitted == 10
    assert (await room.status(TERM, OPENS + 4.0)).admitted == 20


async def test_concurrency_mode_admits_as_sessions_end(room: WaitingRoom) -> None:
    await room.configure(TERM, policy=Policy(mode="concurrency", max_active=3, session_seconds=60))
    for student in range(1, 11):
        await room.join(TERM, student, OPENS)

    assert (await room.status(TERM, OPENS + 1)).admitted == 3
    assert (await room.status(TERM, OPENS + 59)).admitted == 3
    status = await room.status(TERM, OPENS + 61)
    assert (status.admitted, status.active) == (6, 3)


async def test_an_expired_admission_goes_to_the_back_of_the_line(room: WaitingRoom) -> None:
    await room.configure(TERM, policy=Policy(rate=1.0, session_seconds=5))
    for student in range(1, 5):
        await room.join(TERM, student, OPENS)
    first = await room.place(TERM, 1, OPENS + 1)
    assert first is not None and first.admitted and first.session_expires_at == OPENS + 6

    rejoined = await room.join(TERM, 1, OPENS + 7)

    assert rejoined.position == 5 and not rejoined.admitted


async def test_a_closed_room_keeps_its_line_but_takes_nobody_new(room: WaitingRoom) -> None:
    await room.join(TERM, 1, OPENS)
    await room.configure(TERM, accepting=False)
    assert (await room.join(TERM, 1, OPENS + 1)).position == 1
    with pytest.raises(QueueClosed):
        await room.join(TERM, 2, OPENS + 1)


async def test_redis_state_outlives_the_process_that_wrote_it() -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    writer = RedisWaitingRoom(REDIS_URL, random.Random(SEED), prefix=prefix)
    await writer.configure(TERM, opens_at=OPENS, policy=Policy(rate=1.0))
    for student in (11, 12, 13):
        await writer.join(TERM, student, OPENS + student)
    await writer.close()  # the API replica restarts

    reader = RedisWaitingRoom(REDIS_URL, prefix=prefix)
    place = await reader.place(TERM, 13, OPENS + 13)
    await reader.reset(TERM)
    await reader.close()
    assert place is not None and place.position == 3


async def test_redis_out_of_reach_is_a_clear_unavailable() -> None:
    nowhere = RedisWaitingRoom("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable):
        await nowhere.join(TERM, 1, OPENS)
    await nowhere.close()


async def test_three_hundred_students_joining_at_once_all_get_a_place(room: WaitingRoom) -> None:
    # Past redis-py's default pool of 100 connections, which used to answer 503 at once.
    places = await asyncio.gather(*(room.join(TERM, s, OPENS + 0.001) for s in range(300)))
    assert sorted(p.position for p in places if p.position) == list(range(1, 301))


async def test_the_adaptive_controller_steps_once_per_period(room: WaitingRoom) -> None:
    assert await room.claim_step(TERM, OPENS, 2.0)
    assert not await room.claim_step(TERM, OPENS + 1.0, 2.0)  # another replica, same period
    assert await room.claim_step(TERM, OPENS + 2.0, 2.0)


@pytest.mark.parametrize(
    ("eta", "admitted", "expected"),
    [
        (None, False, 10.0),  # before the lottery, with no ETA yet
        (600.0, False, 10.0),
        (7.0, False, 3.5),  # half the ETA
        (1.6, False, 1.0),  # at least a second apart
        (0.4, False, 0.4),  # due within a second: ask when it is due
        (0.0, False, 0.2),
        (0.0, True, None),
    ],
)
def test_clients_are_told_when_to_ask_again(
    eta: float | None, admitted: bool, expected: float | None
) -> None:
    place = Place(position=5, ahead=4, admitted=admitted, eta_seconds=eta)
    assert poll_after(place) == expected


def test_clients_told_the_same_are_spread_apart() -> None:
    place = Place(position=5, ahead=4, admitted=False, eta_seconds=7.0)
    assert poll_after(place, jitter=0.8) == 2.8 and poll_after(place, jitter=1.2) == 4.2
