"""The browser is told to refuse what the UI never does; the API explorer is off in
production unless asked for."""

import httpx
import pytest

from sugang.app import create_app
from sugang.http.security_headers import CONTENT_SECURITY_POLICY
from sugang.runtime import Services


async def test_every_answer_carries_the_headers(client: httpx.AsyncClient) -> None:
    for path in ("/", "/api/v1/me", "/api/v1/no-such-route", "/healthz"):
        answer = await client.get(path)
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP: no promise


async def test_hsts_once_served_over_tls(services: Services) -> None:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="https://sugang.test") as client:
        answer = await client.get("/healthz")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")


async def test_the_api_explorer_keeps_its_cdn_and_is_served_outside_production(
    client: httpx.AsyncClient,
) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "Content-Security-Policy" not in docs.headers  # it loads Swagger UI from a CDN
    assert docs.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize(("api_docs", "served"), [(None, False), (True, True)])
async def test_production_hides_the_api_explorer_unless_asked(
    services: Services, api_docs: bool | None, served: bool
) -> None:
    services.settings = services.settings.model_copy(
        update={"environment": "production", "api_docs": api_docs}
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://sugang.test") as client:
        statuses = {p: (await client.get(p)).status_code for p in ("/docs", "/openapi.json")}
    assert statuses == (
        {"/docs": 200, "/openapi.json": 200} if served else {"/docs": 404, "/openapi.json": 404}
    )
