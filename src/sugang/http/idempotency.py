"""The Idempotency-Key header and the answer it replays (storage: sugang.db.idempotency)."""

from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.responses import JSONResponse, Response

from sugang.db.idempotency import IdempotentRequest, Outcome, fingerprint


async def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Send the same key when retrying; the request then acts at most once.",
        ),
    ] = None,
) -> str | None:
    return key


IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]


def idempotent_request(
    key: str | None, user_id: int, language: str, *request: Any
) -> IdempotentRequest | None:
    """The request to run at most once under `key` (None without a key); `request` is what
    identifies it (method, path, body): the same key with another request is refused."""
    if key is None:
        return None
    return IdempotentRequest(user_id, key, fingerprint(*request), language)


def respond(outcome: Outcome) -> Response:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    if outcome.status == 204 or outcome.body is None:
        return Response(status_code=outcome.status, headers=headers)
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
