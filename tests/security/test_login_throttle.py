"""Login and bot protection: failed logins are throttled per address, per account and
address, and per account, without ever locking a student out on a device that has not failed;
a full hashing queue answers 503 with Retry-After; tickets and polls have per-student caps.
All of it on by default in production."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from sugang.app import create_app
from sugang.auth.throttle import network_of
from sugang.clock import FixedClock
from sugang.config import Settings
from sugang.runtime import Services
from tests.support.databases import TEST_SECRET
from tests.support.factories import PASSWORD, Factory, login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_enabled": True})


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services=services)


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://sugang.test")


async def try_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def test_a_student_who_mistypes_backs_off_briefly_then_gets_in(
    app: FastAPI, factory: Factory, clock: FixedClock
) -> None:
    username = await factory.username_of(await factory.student())
    async with from_address(app, "10.1.0.1") as phone:
        wrong = [(await try_login(phone, username, "wrong-pass")).status_code for _ in range(6)]
        refused = await try_login(phone, username, PASSWORD)
        clock.now += timedelta(seconds=30)  # one more try every 30 s
        later = await try_login(phone, username, PASSWORD)
        again = [(await try_login(phone, username, "wrong-pass")).status_code for _ in range(5)]

    assert wrong == [401] * 5 + [429]
    assert refused.status_code == 429 and refused.json()["code"] == "LOGIN_THROTTLED"
    assert int(refused.headers["Retry-After"]) <= 30
    assert later.status_code == 200
    assert again == [401] * 5  # a success cleared the backoff


async def test_a_flood_against_an_account_never_locks_out_its_student_on_their_own_phone(
    app: FastAPI, factory: Factory
) -> None:
    username = await factory.username_of(await factory.student())
    attackers = [from_address(app, f"10.9.0.{n}") for n in range(1, 9)]
    answers: list[int] = []
    for attacker in attackers:  # 8 addresses × 6 guesses: past every account bucket
        for _ in range(6):
            answers.append((await try_login(attacker, username, "guess")).status_code)
    fresh = from_address(app, "10.9.1.1")
    fresh_answers = [(await try_login(fresh, username, "guess")).status_code for _ in range(2)]
    async with from_address(app, "10.1.0.2") as phone:
        student = await try_login(phone, username, PASSWORD)
    for client in (*attackers, fresh):
        await client.aclose()

    assert answers.count(401) <= 20 + 8  # the account's burst, and a first try per address
    assert 429 in answers
    # once the account's bucket is empty, an address gets one guess before it is throttled
    assert fresh_answers == [401, 429]
    assert student.status_code == 200


async def test_an_address_that_sprays_is_slowed_without_shutting_its_other_students_out(
    app: FastAPI, factory: Factory, services: Services
) -> None:
    """One guess each at 35 accounts from a campus NAT: from then on every login from that
    address is a suspect (hashed behind the others), but a student there still gets in."""
    usernames = [await factory.username_of(await factory.student()) for _ in range(36)]
    async with from_address(app, "10.2.0.1") as nat:
        guesses = [(await try_login(nat, name, "guess")).status_code for name in usernames[:35]]
        student = await try_login(nat, usernames[35], PASSWORD)
    throttle = services.auth.throttle

    assert guesses == [401] * 35
    assert student.status_code == 200
    assert (await throttle.attempt(usernames[35], "10.2.0.1")).suspect
    assert not (await throttle.attempt(usernames[35], "10.2.0.2")).suspect


async def test_guesses_sent_at_once_do_not_pass_the_backoff_together(
    app: FastAPI, factory: Factory
) -> None:
    username = await factory.username_of(await factory.student())
    async with from_address(app, "10.5.0.1") as bot:
        answers = await asyncio.gather(*(try_login(bot, username, "guess") for _ in range(20)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == 5 and statuses.count(429) == 15


async def test_successful_logins_from_one_address_are_never_throttled(
    app: FastAPI, factory: Factory
) -> None:
    """A PC room: more students than the address's failure burst log in from one address,
    one after the other and then all at once (logins in flight are not failures: none of
    them is a suspect sent to the back of the hashing queue)."""
    usernames = [await factory.username_of(await factory.student()) for _ in range(35)]
    async with from_address(app, "10.3.0.1") as room:
        one_by_one = {(await try_login(room, name, PASSWORD)).status_code for name in usernames}
        at_once = await asyncio.gather(*(try_login(room, name, PASSWORD) for name in usernames))
    assert one_by_one == {200}
    assert {answer.status_code for answer in at_once} == {200}


async def test_a_full_hashing_queue_answers_503_with_retry_after(
    services: Services, app: FastAPI, factory: Factory
) -> None:
    services.settings.max_hash_queue = 2
    services.settings.rate_limit_enabled = False
    usernames = [await factory.username_of(await factory.student()) for _ in range(3)]
    async with from_address(app, "10.4.0.1") as client:
        answers = await asyncio.gather(
            *(try_login(client, usernames[n % 3], PASSWORD) for n in range(40))
        )
    statuses = [a.status_code for a in answers]
    busy = [a for a in answers if a.status_code == 503]

    assert set(statuses) == {200, 503}
    assert all(a.json()["code"] == "LOGIN_BUSY" and a.headers["Retry-After"] for a in busy)


async def test_tickets_and_polls_have_per_student_caps(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    services.settings.rate_limit_student_burst = 1000  # only the caps under test
    term = await factory.term()
    admin = await login(client, await factory.staff())
    rush = await client.patch(
        f"/api/v1/admin/terms/{term}/waiting-room", json={"rush_mode": True}, headers=admin
    )
    assert rush.status_code == 200
    headers = await login(client, await factory.username_of(await factory.student()))

    tickets = [(await client.post("/api/v1/queue/tickets", headers=headers)) for _ in range(6)]
    ticket = tickets[0].json()["ticket"]
    polls = [
        (await client.get(f"/api/v1/queue/tickets/{ticket}", headers=headers)).status_code
        for _ in range(11)
    ]

    assert [t.status_code for t in tickets] == [201] * 5 + [429]
    assert polls == [200] * 10 + [429]


def test_protection_is_on_by_default_in_production_only() -> None:
    def production(**overrides: object) -> Settings:
        return Settings(environment="production", secret_key=TEST_SECRET, **overrides)  # type: ignore[arg-type]

    assert production().rate_limits_on
    assert not production(rate_limit_enabled=False).rate_limits_on
    assert not Settings(environment="local").rate_limits_on


async def test_guessing_the_current_password_with_a_token_is_throttled_like_a_login(
    app: FastAPI, factory: Factory
) -> None:
    username = await factory.username_of(await factory.student())
    async with from_address(app, "10.6.0.1") as thief:
        headers = await login(thief, username)
        answers = [
            (
                await thief.put(
                    "/api/v1/me/password",
                    json={"current_password": f"guess-{n}", "new_password": "taken-over-1"},
                    headers=headers,
                )
            ).status_code
            for n in range(6)
        ]
    assert answers == [422] * 5 + [429]


def test_an_ipv6_64_counts_as_one_address() -> None:
    assert (
        network_of("2001:db8:1:2::17") == network_of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    )
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("::ffff:203.0.113.9") == network_of("203.0.113.9") == "203.0.113.9"
    assert network_of(None) == "unknown" and network_of("testclient") == "testclient"
