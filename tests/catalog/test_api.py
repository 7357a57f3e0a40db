"""Catalog reads over HTTP: search with filters and pages."""

import httpx

from tests.support.factories import Factory, login


async def test_section_search_filters_and_pages(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    for _ in range(5):
        await factory.section(term)
    full = await factory.section(term, capacity=0)
    await factory.student(number="20272222")
    headers = await login(client, "20272222")

    page = (await client.get("/api/v1/sections?page=2&page_size=2", headers=headers)).json()
    assert (page["total"], page["page"], len(page["items"])) == (6, 2, 2)
    with_seats = (await client.get("/api/v1/sections?has_seats=true", headers=headers)).json()
    assert full not in [s["id"] for s in with_seats["items"]] and with_seats["total"] == 5
    nothing = (await client.get("/api/v1/sections?q=%25_nothing", headers=headers)).json()
    assert nothing["total"] == 0
