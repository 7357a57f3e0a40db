"""Oversize and malformed input at the door: bounded before anything reads it, answered 413
or 401 before a token is checked or a file written."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import starlette.formparsers

from sugang.app import create_app
from sugang.runtime import Services
from tests.support.factories import Factory, login, student_client

LIMIT = 64 * 1024  # the default SUGANG_MAX_BODY_BYTES


@pytest.fixture
def temporary_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every temporary file the multipart parser opens (it spools uploads into them)."""
    opened: list[Any] = []
    spooled = starlette.formparsers.SpooledTemporaryFile

    def recording(*args: Any, **kwargs: Any) -> Any:
        opened.append(spooled(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", recording)
    yield opened


async def test_a_declared_oversize_body_is_413_before_the_token_is_looked_at(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"section_id": 1, "pad": "' + b"x" * LIMIT + b'"}'
    answer = await client.post(
        "/api/v1/enrollments", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "REQUEST_TOO_LARGE"
    assert answer.json()["detail"] == {"limit": LIMIT}
    assert answer.json()["messages"]["en"].startswith("The request is too large")


async def test_a_chunked_body_is_cut_off_as_it_passes_the_limit(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, headers = await student_client(client, factory)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        nonlocal sent
        yield b'{"section_id": 1, "pad": "'
        for _ in range(64):  # 4 MiB offered, 16 KiB at a time
            sent += 1
            yield b"x" * 16 * 1024
        yield b'"}'

    answer = await client.post(
        "/api/v1/enrollments",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "REQUEST_TOO_LARGE"
    assert sent < 64  # given up on, not read to the end


async def test_an_upload_without_a_token_is_refused_before_it_is_spooled(
    client: httpx.AsyncClient, temporary_files: list[Any]
) -> None:
    csv = b"code,name\n" + b"CSE,Computer Science\n" * 150_000  # 3 MiB: past the spool
    answer = await client.post(
        "/api/v1/admin/import/departments", files={"file": ("d.csv", csv, "text/csv")}
    )
    assert answer.status_code == 401
    assert temporary_files == []


async def test_an_upload_by_a_student_is_refused_before_it_is_spooled(
    client: httpx.AsyncClient, factory: Factory, temporary_files: list[Any]
) -> None:
    _, headers = await student_client(client, factory)
    csv = b"code,name\nCSE,Computer Science\n"
    answer = await client.post(
        "/api/v1/admin/import/departments",
        files={"file": ("d.csv", csv, "text/csv")},
        headers=headers,
    )
    assert answer.status_code == 403
    assert temporary_files == []


async def test_imports_have_their_own_larger_limit_and_a_row_cap(
    services: Services, factory: Factory
) -> None:
    narrow = services.settings.model_copy(update={"max_import_bytes": 4096, "max_import_rows": 3})
    services.settings = narrow
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        admin = await login(client, await factory.staff())
        too_big = b"code,name_ko,name_en\n" + b"CSE,CS,Computer Science\n" * 400
        big = await client.post(
            "/api/v1/admin/import/departments",
            files={"file": ("d.csv", too_big, "text/csv")},
            headers=admin,
        )
        rows = b"code,name_ko,name_en\n" + b"".join(b"D%d,D,Dept %d\n" % (n, n) for n in range(4))
        many = await client.post(
            "/api/v1/admin/import/departments",
            files={"file": ("d.csv", rows, "text/csv")},
            headers=admin,
        )
        fine = await client.post(
            "/api/v1/admin/import/departments",
            files={
                "file": ("d.csv", b"code,name_ko,name_en\nCSE,CS,Computer Science\n", "text/csv")
            },
            headers=admin,
        )
    assert big.status_code == 413 and big.json()["detail"] == {"limit": 4096}
    assert many.status_code == 422 and "more than 3 rows" in many.json()["detail"]["reason"]
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/enrollments", b'{"section_id": '),
        ("/api/v1/enrollments", b"\xff\xfe not json"),
        ("/api/v1/basket", b'{"section_id": "one"}'),
    ],
)
async def test_a_malformed_body_without_a_token_is_401_not_422(
    client: httpx.AsyncClient, factory: Factory, path: str, body: bytes
) -> None:
    json_headers = {"Content-Type": "application/json"}
    anonymous = await client.post(path, content=body, headers=json_headers)
    forged = await client.post(
        path, content=body, headers={**json_headers, "Authorization": "Bearer not.a.token"}
    )
    _, headers = await student_client(client, factory)
    logged_in = await client.post(path, content=body, headers={**headers, **json_headers})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "NOT_AUTHENTICATED"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert forged.status_code == 401
    # who is known to be logged in learns what is wrong: 422, or 400 for bytes that are no text
    assert logged_in.status_code in (400, 422)
    assert logged_in.json()["code"] == "INVALID_REQUEST"


async def test_a_public_route_still_says_what_is_wrong_with_its_body(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/v1/auth/token", content=b"username", headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 422
