"""Headers every response carries, and /metrics in one process."""

import httpx

from sugang.app import create_app
from sugang.config import Settings
from sugang.observability.middleware import served_by
from sugang.runtime import Services
from tests.support.databases import TEST_SECRET
from tests.support.factories import Factory, login


def test_served_by_uses_the_downward_api_and_falls_back_to_the_host_name() -> None:
    assert served_by("node-2", "sugang-7f9c", "host") == "node-2/sugang-7f9c"
    assert served_by(None, None, "laptop") == "laptop/laptop"


async def test_every_response_says_who_served_it(services: Services) -> None:
    services.settings.node_name, services.settings.pod_name = "worker-1", "sugang-abc"
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ok = await c.get("/healthz")
        again = await c.get("/healthz")
        missing = await c.get("/nope", headers={"X-Request-ID": "trace-123"})
    assert ok.headers["X-Served-By"] == "worker-1/sugang-abc"
    assert missing.headers["X-Served-By"] == "worker-1/sugang-abc"  # refusals too
    assert missing.headers["X-Request-ID"] == "trace-123"
    generated = ok.headers["X-Request-ID"]
    assert len(generated) == 28 and int(generated, 16) >= 0
    assert again.headers["X-Request-ID"] != generated


async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert response.headers["X-Request-ID"].isalnum()


async def test_metrics_count_requests_by_route_and_enrollment_outcomes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    section = await factory.section(term, capacity=0)
    await factory.student(number="20276601")
    headers = await login(client, "20276601")

    def sample(text: str, prefix: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = (await client.get("/metrics")).text
    await client.post("/api/v1/enrollments", json={"section_id": section}, headers=headers)
    await client.post(
        "/api/v1/enrollments", json={"section_id": section, "waitlist": True}, headers=headers
    )
    after = (await client.get("/metrics")).text

    full = 'sugang_enrollment_attempts_total{outcome="SECTION_FULL"}'
    waitlisted = 'sugang_enrollment_attempts_total{outcome="waitlisted"}'
    route = 'sugang_http_requests_total{method="POST",route="/api/v1/enrollments",status="409"}'
    assert sample(after, full) - sample(before, full) == 1
    assert sample(after, waitlisted) - sample(before, waitlisted) == 1
    assert sample(after, route) - sample(before, route) == 1
    assert 'sugang_section_seats_left{course_code="' in after
    assert "sugang_db_pool_connections_in_use" in after


async def test_with_the_database_down_metrics_answer_and_the_rest_is_503() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",  # refused at once
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        environment="test",
        ready_failures=1,  # unready at the first failed check (tests/system holds the count)
    )
    services = Services.from_settings(settings)
    app = create_app(services=services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            metrics = await c.get("/metrics")
            ready = await c.get("/readyz")
            term = await c.get("/api/v1/terms/current")
    finally:
        await services.db.dispose()
    assert metrics.status_code == 200 and "sugang_http_requests_total" in metrics.text
    assert ready.status_code == 503
    assert term.status_code == 503 and term.json()["code"] == "SERVICE_UNAVAILABLE"
    assert "Retry-After" in term.headers
