"""Which login tokens are void. A token carries its user's token version; raising the
version (a password change, a role change, disabling) or deleting the user writes a row to
token_revocations, and each worker reads the rows past the last one it saw at most once per
`poll_seconds`: one indexed query a second per worker, however many students are online,
instead of a user lookup per request. A revocation reaches every worker within that period.

The read runs on the side connection (never behind the busy pool) and requests wait for it
50 ms at most: if the database is slow or cannot be read, the last known revocations stand
and a later request tries again. The waiting room keeps admitting through a database
failover (issue #13), and a request that needs the database fails on its own anyway.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
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
# skipped are asked for again for as long as a token lives (`remember_missing_seconds`: an id
# that never shows up was rolled back), at most this many of them.
_MISSING_AT_MOST = 10_000
_FIRST_READ_LOOKBACK = 1_000
READ_WAIT_SECONDS = 0.05
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
        remember_missing_seconds: float = 3 * 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.remember_missing_seconds = remember_missing_seconds
        self.monotonic = monotonic
        self._min_version: dict[int, int] = {}
        self._last_id = 0
        self._missing: dict[int, float] = {}  # ids skipped so far, and since when
        self._has_read = False
        self._read_at = float("-inf")
        self._reading: asyncio.Task[None] | None = None

    async def is_current(self, user_id: int, version: int) -> bool:
        await self._refresh()
        return version >= self._min_version.get(user_id, 0)

    async def _refresh(self) -> None:
        """Start a read if the last is older than the period, and wait for it a moment
        (READ_WAIT_SECONDS): a read that takes longer (the database failing over) goes on in
        the background while requests go on with what is known."""
        if self.monotonic() - self._read_at < self.poll_seconds:
            return
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_now())
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), READ_WAIT_SECONDS)

    async def _read_now(self) -> None:
        asked = {"last": self._last_id, "missing": list(self._missing)}
        try:
            async with self.db.side_read() as conn:  # never waits for the busy pool
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
            # A first read cannot tell a purged id from one still in flight: it asks again
            # for the ids just below its newest too.
            lookback = _MISSING_AT_MOST if self._has_read else _FIRST_READ_LOOKBACK
            start = max(self._last_id + 1, newest - lookback, 1)
            for missing in set(range(start, newest)) - seen:
                self._missing[missing] = now
            self._last_id = newest
        self._has_read = True
        for missing, since in list(self._missing.items()):
            if now - since > self.remember_missing_seconds:
                del self._missing[missing]
        self._read_at = now
