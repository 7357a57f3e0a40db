"""The API users' scripts are written against: the OpenAPI document, compared with the one
committed beside this test. A change to it is a change to the contract: make it on purpose,
then write the new document with
    .venv/bin/python -m tests.http.test_openapi
"""

import json
from pathlib import Path
from typing import Any

from sugang.app import create_app
from sugang.runtime import Services

COMMITTED = Path(__file__).with_name("openapi.json")


def document(services: Services) -> dict[str, Any]:
    return json.loads(json.dumps(create_app(services=services).openapi()))


def test_the_openapi_document_is_the_committed_one(services: Services) -> None:
    committed = json.loads(COMMITTED.read_text())
    served = document(services)
    assert sorted(served["paths"]) == sorted(committed["paths"])
    for path, operations in committed["paths"].items():
        assert served["paths"][path] == operations, path
    assert served == committed


if __name__ == "__main__":
    import asyncio

    from sugang.config import Settings

    async def write() -> None:
        services = Services.from_settings(Settings(database_url="sqlite+aiosqlite://"))
        try:
            text = json.dumps(document(services), indent=1, ensure_ascii=False)
            COMMITTED.write_text(text + "\n")
        finally:
            await services.close()

    asyncio.run(write())
