"""The challenge hook on ticket creation: off by default; `pow` asks for a proof of work bound
to the student and to two minutes, which the client solves and sends back."""

import hashlib
import itertools
from datetime import timedelta

import httpx
import pytest

from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.waitingroom.challenge import leading_zero_bits, solves
from tests.support.factories import Factory, login


def solve(puzzle: str, bits: int) -> str:
    counter = next(n for n in itertools.count() if solves(puzzle, str(n), bits))
    return f"{puzzle}:{counter}"


async def rush_student(client: httpx.AsyncClient, factory: Factory) -> dict[str, str]:
    term = await factory.term()
    admin = await login(client, await factory.staff())
    rush = await client.patch(
        f"/api/v1/admin/terms/{term}/waiting-room", json={"rush_mode": True}, headers=admin
    )
    assert rush.status_code == 200
    return await login(client, await factory.username_of(await factory.student()))


async def take(client: httpx.AsyncClient, headers: dict[str, str], answer: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"X-Sugang-Challenge": answer} if answer else {}
    return await client.post("/api/v1/queue/tickets", headers={**headers, **extra})


async def test_off_by_default(client: httpx.AsyncClient, factory: Factory) -> None:
    assert (await take(client, await rush_student(client, factory))).status_code == 201


class TestProofOfWork:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"ticket_challenge": "pow", "ticket_challenge_bits": 10})

    async def test_a_solved_puzzle_takes_the_ticket(
        self, client: httpx.AsyncClient, factory: Factory
    ) -> None:
        headers = await rush_student(client, factory)

        first = await take(client, headers)
        challenge = first.json()["detail"]
        solved = await take(client, headers, solve(challenge["puzzle"], challenge["bits"]))

        assert first.status_code == 428 and first.json()["code"] == "CHALLENGE_REQUIRED"
        assert challenge["kind"] == "pow" and challenge["bits"] == 10
        assert solved.status_code == 201

    async def test_wrong_foreign_and_stale_answers_are_refused(
        self, client: httpx.AsyncClient, factory: Factory, clock: FixedClock
    ) -> None:
        alice = await rush_student(client, factory)
        bob = await login(client, await factory.username_of(await factory.student()))
        puzzle = (await take(client, alice)).json()["detail"]["puzzle"]
        answer = solve(puzzle, 10)
        wrong_counter = next(n for n in itertools.count() if not solves(puzzle, str(n), 10))

        wrong = await take(client, alice, f"{puzzle}:{wrong_counter}")
        bobs = await take(client, bob, answer)  # Alice's solved puzzle
        forged = await take(client, alice, f"x{puzzle}:{answer.rpartition(':')[2]}")
        clock.now += timedelta(minutes=3)
        stale = await take(client, alice, answer)

        assert wrong.status_code == 428 and wrong.json()["detail"]["reason"] == "wrong"
        assert bobs.status_code == forged.status_code == stale.status_code == 428
        assert bobs.json()["detail"]["reason"] == "required"


def test_leading_zero_bits() -> None:
    assert leading_zero_bits(b"\x00\x00\xff") == 16
    assert leading_zero_bits(b"\x00\x1f") == 11
    assert leading_zero_bits(b"\x80") == 0
    assert leading_zero_bits(hashlib.sha256(b"").digest()) == 0  # e3b0...
