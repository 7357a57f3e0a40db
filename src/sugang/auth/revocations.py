"""Which login tokens are void. A token carries its user's token version; raising the
version (a password change, a role change, disabling) or deleting the user writes a row to
token_revocations, and each worker reads the rows past the last one it saw at most once per
`poll_seconds`: one indexed query a second per worker, however many students are online,
instead of a user lookup per request. A revocation reaches every worker within that period.

If the database cannot be read, the last known revocations stand and the next request tries
again: the waiting room keeps admitting through a database failover (issue #13), and a
request that needs the database fails on its own anyway.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from sugang.db import Database
from sugang.db.types import UTCDateTime

log = logging.getLogger("sugang.auth")

DELETED = 2**31 - 1  # no token reaches this version: all of a deleted user's are void

_RAISE_VERSION = text(
    "UPDATE users SET token_version = token_version + 1 WHERE id = :id RETURNING token_version"
)
_RECORD = text(
    "INSERT INTO token_revocations (user_id, min_version, at) VALUES (:user_id, :version, :now)"
).bindparams(bindparam("now", type_=UTCDateTime()))
_SINCE = text(
    "SELECT id, user_id, min_version FROM token_revocations"
    " WHERE id > :last OR id IN :missing ORDER BY id"
).bindparams(bindparam("missing", expanding=True))
# On PostgreSQL an id is taken when a row is inserted, not when it commits: a revocation whose
# transaction commits after a later one's shows up below the last id already read. The ids
# skipped are asked for again for this long (a revocation is written by a short transaction;
# an id that never shows up was rolled back).
MISSING_FOR_SECONDS = 120.0
_MISSING_AT_MOST = 10_000
_PURGE = text("DELETE FROM token_revocations WHERE at < :before").bindparams(
    bindparam("before", type_=UTCDateTime())
)


async def revoke(conn: AsyncConnection, user_id: int, now: datetime) -> int:
    """Void every token the user holds (in the caller's transaction); the new version, which
    tokens issued from now on carry."""
    version = await conn.scalar(_RAISE_VERSION, {"id": user_id})
    if version is None:
        return 0
    await conn.execute(_RECORD, {"user_id": user_id, "version": version, "now": now})
    return int(version)


async def revoke_deleted(conn: AsyncConnection, user_id: int, now: datetime) -> None:
    await conn.execute(_RECORD, {"user_id": user_id, "version": DELETED, "now": now})


async def purge(conn: AsyncConnection, before: datetime) -> None:
    """Forget revocations older than any token could be (no voided token is left alive)."""
    await conn.execute(_PURGE, {"before": before})


def purge_horizon(now: datetime, token_minutes: int) -> datetime:
    return now - timedelta(minutes=token_minutes) - timedelta(minutes=5)


class Revocations:
    def __init__(
        self,
        db: Database,
        poll_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.monotonic = monotonic
        self._min_version: dict[int, int] = {}
        self._last_id = 0
        self._missing: dict[int, float] = {}  # ids skipped so far, and since when
        self._has_read = False
        self._read_at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def is_current(self, user_id: int, version: int) -> bool:
        await self._refresh()
        return version >= self._min_version.get(user_id, 0)

    async def _refresh(self) -> None:
        if self.monotonic() - self._read_at < self.poll_seconds:
            return
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:  # one read for all the requests that found it stale
            if self.monotonic() - self._read_at < self.poll_seconds:
                return
            asked = {"last": self._last_id, "missing": list(self._missing)}
            try:
                async with self.db.transaction(write=False) as conn:
                    rows = (await conn.execute(_SINCE, asked)).all()
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                log.warning("could not read token revocations: %s", error)
                self._read_at = self.monotonic()
                return
            self._read(rows, self.monotonic())

    def _read(self, rows: Sequence[Any], now: float) -> None:
        seen = {row.id for row in rows}
        for row in rows:
            known = self._min_version.get(row.user_id, 0)
            self._min_version[row.user_id] = max(known, row.min_version)
            self._missing.pop(row.id, None)
        newest = max(seen, default=self._last_id)
        if newest > self._last_id:
            # what lies below the oldest row of a first read was purged, as far as it knows
            oldest = self._last_id + 1 if self._has_read else min(seen)
            start = max(oldest, newest - _MISSING_AT_MOST)
            for missing in set(range(start, newest)) - seen:
                self._missing[missing] = now
            self._last_id = newest
        self._has_read = True
        for missing, since in list(self._missing.items()):
            if now - since > MISSING_FOR_SECONDS:
                del self._missing[missing]
        self._read_at = now
