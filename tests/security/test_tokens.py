"""Token confusion: whatever a client forges or swaps, a bearer token is a login token signed
with this deployment's secret, for a known role and a numeric subject, valid now."""

import warnings
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from pydantic import SecretStr

from sugang.app import create_app
from sugang.config import INSECURE_DEV_SECRET
from sugang.runtime import Services
from tests.support.databases import TEST_SECRET
from tests.support.factories import Factory, login, student_client


@pytest.fixture
def claims(services: Services) -> Callable[..., dict[str, Any]]:
    """A login token's claims, as the service would issue them now, changed as asked."""

    def made(**changes: Any) -> dict[str, Any]:
        now = int(services.clock().timestamp())
        base = {"sub": "1", "name": "x", "role": "admin", "aud": "sugang", "iat": now}
        return {**base, "exp": now + 600, **changes}

    return made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_route(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/v1/admin/audit", headers=bearer(token))).status_code


async def test_a_genuine_token_is_the_baseline(
    client: httpx.AsyncClient, factory: Factory, claims: Callable[..., dict[str, Any]]
) -> None:
    headers = await login(client, await factory.staff())
    assert (await client.get("/api/v1/admin/audit", headers=headers)).status_code == 200
    forged_well = jwt.encode(claims(), TEST_SECRET, algorithm="HS256")
    assert await admin_route(client, forged_well) == 200  # so the refusals below are real


@pytest.mark.parametrize(
    "change",
    [
        {"role": "superuser"},
        {"role": ["admin"]},
        {"sub": "abc"},
        {"sub": "1.5"},
        {"sub": "-1"},
        {"sub": "١"},  # an Arabic-Indic one: a digit to str.isdigit, not an id
        {"aud": "sugang-ticket"},
        {"aud": None},
        {"exp": None},
        {"exp": "later"},
    ],
    ids=repr,
)
async def test_claims_out_of_shape_are_refused(
    client: httpx.AsyncClient, claims: Callable[..., dict[str, Any]], change: dict[str, Any]
) -> None:
    shaped = {k: v for k, v in claims(**change).items() if v is not None}
    assert await admin_route(client, jwt.encode(shaped, TEST_SECRET, algorithm="HS256")) == 401


async def test_expired_and_not_yet_valid_tokens_are_refused(
    client: httpx.AsyncClient, services: Services, claims: Callable[..., dict[str, Any]]
) -> None:
    now = int(services.clock().timestamp())
    for shaped in (
        claims(exp=now - 1),
        claims(exp=now),
        claims(iat=now + 3600),
        claims(nbf=now + 3600),
    ):
        assert await admin_route(client, jwt.encode(shaped, TEST_SECRET, algorithm="HS256")) == 401
    within_skew = claims(iat=now + 30)  # a server clock a little ahead is tolerated
    assert await admin_route(client, jwt.encode(within_skew, TEST_SECRET)) == 200


async def test_other_algorithms_and_other_secrets_are_refused(
    client: httpx.AsyncClient, claims: Callable[..., dict[str, Any]]
) -> None:
    with warnings.catch_warnings():  # the right key, for longer hashes than it suits
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        other_algorithms = [
            jwt.encode(claims(), TEST_SECRET, algorithm=a) for a in ("HS384", "HS512")
        ]
    unsigned = jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]
    header, payload, _ = jwt.encode(claims(), TEST_SECRET, algorithm="HS256").split(".")
    none_header = unsigned.split(".")[0]
    for token in (
        unsigned,
        f"{none_header}.{payload}.",  # a genuine token's claims, its signature dropped
        f"{header}.{payload}.",
        *other_algorithms,
        jwt.encode(claims(), "another-secret-that-is-long-enough-0123456789", algorithm="HS256"),
        "not.a.token",
        "",
    ):
        assert await admin_route(client, token) == 401, token


async def test_the_development_secret_means_nothing_in_production(
    services: Services, claims: Callable[..., dict[str, Any]]
) -> None:
    services.settings = services.settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr("a-private-value-" + "x" * 32)}
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://sugang.test") as client:
        for secret in (INSECURE_DEV_SECRET, TEST_SECRET):
            assert await admin_route(client, jwt.encode(claims(), secret)) == 401


async def test_tickets_passes_and_login_tokens_never_stand_in_for_each_other(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    term = await factory.term()
    await factory.section(term, capacity=5)
    room = {"rush_mode": True, "rate": 100.0, "opens_at": factory.now.isoformat()}
    changed = await client.patch(
        f"/api/v1/admin/terms/{term}/waiting-room", json=room, headers=admin
    )
    assert changed.status_code == 200, changed.text
    _, student = await student_client(client, factory)
    ticket = (await client.post("/api/v1/queue/tickets", headers=student)).json()
    login_token = student["Authorization"].removeprefix("Bearer ")
    passes = [ticket["ticket"]] + ([ticket["access_token"]] if ticket.get("access_token") else [])

    for not_a_login in passes:  # a ticket or a pass as the bearer token
        assert (await client.get("/api/v1/me", headers=bearer(not_a_login))).status_code == 401
    as_pass = await client.post(
        "/api/v1/enrollments",
        json={"section_id": 1},
        headers={**student, "X-Admission-Token": login_token},
    )
    assert as_pass.status_code == 401 and as_pass.json()["code"] == "ADMISSION_INVALID"
    as_ticket = await client.get(f"/api/v1/queue/tickets/{login_token}", headers=student)
    assert as_ticket.status_code == 404 and as_ticket.json()["code"] == "TICKET_INVALID"
