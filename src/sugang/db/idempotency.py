"""Idempotent writes: a retried request returns the first outcome and acts only once.

The key is recorded in the same transaction as the action, so the action and its record
commit together or not at all. A concurrent retry blocks on the key's primary key until the
first attempt finishes, then reads its outcome. Refusals are recorded too (the action runs in
a savepoint that is rolled back), so a retry of a refused request is refused the same way.
Keys are remembered for 24 hours; a client sends a new key for a new attempt (a new click).
(The HTTP side, the Idempotency-Key header and the replayed answer, is sugang.http.idempotency.)
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from sugang.clock import Clock
from sugang.db.engine import Database
from sugang.db.types import Base, UTCDateTime
from sugang.errors import IdempotencyKeyReused, SugangError

# How long a key is remembered; after that the same key is a new request.
KEY_LIFETIME = timedelta(hours=24)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)

    # A deleted user's stored answers go with them.
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Outcome:
    """What the client is answered: a status and a JSON body (None for no body)."""

    status: int
    body: Any = None
    replayed: bool = False


@dataclass(frozen=True)
class IdempotentRequest:
    """A mutating request sent with a key: whose it is, the key, a fingerprint of what it
    asked (the same key with another request is refused), and the language a refusal is
    stored in."""

    user_id: int
    key: str
    fingerprint: str
    language: str


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


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
_STORE_OUTCOME = text(
    "UPDATE idempotency_records SET status_code = :status, body = :body"
    " WHERE user_id = :user_id AND key = :key"
)


async def run_idempotent(
    db: Database,
    clock: Clock,
    request: IdempotentRequest | None,
    work: Callable[[AsyncConnection], Awaitable[Outcome]],
) -> Outcome:
    """Run `work` in a transaction; with a request key, at most once per key."""
    if request is None:
        return await db.run(work)

    async def once(conn: AsyncConnection) -> Outcome:
        ids = {"user_id": request.user_id, "key": request.key}
        now = clock()
        claimed = await conn.execute(
            _CLAIM_KEY, {**ids, "fingerprint": request.fingerprint, "now": now}
        )
        if claimed.first() is None:
            stored = (await conn.execute(_READ_KEY, ids)).one()
            if stored.created_at > now - KEY_LIFETIME:
                if stored.fingerprint != request.fingerprint:
                    raise IdempotencyKeyReused()
                body = json.loads(stored.body) if stored.body else None
                return Outcome(stored.status_code, body, replayed=True)
            await conn.execute(_RENEW_KEY, {**ids, "fingerprint": request.fingerprint, "now": now})
        try:
            async with conn.begin_nested():
                outcome = await work(conn)
        except SugangError as refusal:
            outcome = Outcome(refusal.status, refusal.to_body(request.language))
        body = None if outcome.body is None else json.dumps(outcome.body)
        await conn.execute(_STORE_OUTCOME, {**ids, "status": outcome.status, "body": body})
        return outcome

    return await db.run(once)


_PURGE = text("DELETE FROM idempotency_records WHERE created_at < :before").bindparams(
    bindparam("before", type_=UTCDateTime())
)


async def purge_expired(conn: AsyncConnection, now: datetime) -> None:
    """Delete the records whose key has expired (a retry with it would be a new request)."""
    await conn.execute(_PURGE, {"before": now - KEY_LIFETIME})
