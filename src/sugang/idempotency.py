"""Idempotency-Key: a retried mutating request returns the first outcome and acts only once.

The key is recorded in the same transaction as the action, so the action and its record
commit together or not at all. A concurrent retry blocks on the key's primary key until the
first attempt finishes, then reads its outcome. Refusals are recorded too (the action runs in
a savepoint that is rolled back), so a retry of a refused request is refused the same way.
Keys are remembered for 24 hours; a client sends a new key for a new attempt (a new click).
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.base import UTCDateTime
from sugang.clock import Clock
from sugang.db import Database
from sugang.errors import IdempotencyKeyReused, SugangError

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Send the same key when retrying; the request then acts at most once.",
    ),
]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any = None
    replayed: bool = False

    def response(self) -> Response:
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        if self.status == 204 or self.body is None:
            return Response(status_code=self.status, headers=headers)
        return JSONResponse(self.body, status_code=self.status, headers=headers)


_CLAIM_KEY = text(
    """
    INSERT INTO idempotency_records (user_id, key, fingerprint, created_at)
    VALUES (:user_id, :key, :fingerprint, :now)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING user_id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))
_READ_KEY = text(
    "SELECT fingerprint, status_code, body, created_at FROM idempotency_records"
    " WHERE user_id = :user_id AND key = :key"
).columns(created_at=UTCDateTime())
_RENEW_KEY = text(
    "UPDATE idempotency_records SET fingerprint = :fingerprint, created_at = :now,"
    " status_code = NULL, body = NULL WHERE user_id = :user_id AND key = :key"
).bindparams(bindparam("now", type_=UTCDateTime()))

# How long a key is remembered; after that the same key is a new request.
KEY_LIFETIME = timedelta(hours=24)
_STORE_OUTCOME = text(
    "UPDATE idempotency_records SET status_code = :status, body = :body"
    " WHERE user_id = :user_id AND key = :key"
)


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def run_idempotent(
    db: Database,
    clock: Clock,
    *,
    user_id: int,
    key: str | None,
    request_fingerprint: str,
    language: str,
    work: Callable[[AsyncConnection], Awaitable[Outcome]],
) -> Outcome:
    if key is None:
        return await db.run(work)

    async def once(conn: AsyncConnection) -> Outcome:
        ids = {"user_id": user_id, "key": key}
        now = clock()
        claimed = await conn.execute(
            _CLAIM_KEY, {**ids, "fingerprint": request_fingerprint, "now": now}
        )
        if claimed.first() is None:
            stored = (await conn.execute(_READ_KEY, ids)).one()
            if stored.created_at > now - KEY_LIFETIME:
                if stored.fingerprint != request_fingerprint:
                    raise IdempotencyKeyReused()
                body = json.loads(stored.body) if stored.body else None
                return Outcome(stored.status_code, body, replayed=True)
            await conn.execute(_RENEW_KEY, {**ids, "fingerprint": request_fingerprint, "now": now})
        try:
            async with conn.begin_nested():
                outcome = await work(conn)
        except SugangError as refusal:
            outcome = Outcome(refusal.status, refusal.to_body(language))
        body = None if outcome.body is None else json.dumps(outcome.body)
        await conn.execute(_STORE_OUTCOME, {**ids, "status": outcome.status, "body": body})
        return outcome

    return await db.run(once)
