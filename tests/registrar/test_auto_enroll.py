"""Auto-enrollment fills uncontested sections from baskets and leaves contested ones alone."""

import httpx

from tests.support.factories import Factory, login


async def test_uncontested_sections_are_filled_from_baskets(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    term = await factory.term()
    roomy = await factory.section(term, capacity=3, meets="Mon 09:00-10:00")
    contested = await factory.section(term, capacity=1, meets="Tue 09:00-10:00")
    students = [await factory.student(number=f"2027700{i}") for i in range(3)]
    for i, _ in enumerate(students):
        headers = await login(client, f"2027700{i}")
        for section in (roomy, contested):
            added = await client.post(
                "/api/v1/basket", json={"section_id": section}, headers=headers
            )
            assert added.status_code == 201, added.text
    admin = await login(client, await factory.staff())

    report = (await client.post(f"/api/v1/admin/terms/{term}/auto-enroll", headers=admin)).json()

    assert report["enrolled"] == 3 and report["sections_filled"] == 1
    assert report["sections_contested"] == [contested]
    assert await factory.seats(roomy) == (3, 3)
    assert await factory.seats(contested) == (0, 0)

    again = (await client.post(f"/api/v1/admin/terms/{term}/auto-enroll", headers=admin)).json()
    assert again["enrolled"] == 0 and again["sections_filled"] == 0
    assert await factory.seats(roomy) == (3, 3)
