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
from collections.abc import Callable
from datetime import datetime, timedelta

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
_SINCE = text("SELECT id, user_id, min_version FROM token_revocations WHERE id > :last ORDER BY id")
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
            try:
                async with self.db.transaction(write=False) as conn:
                    rows = (await conn.execute(_SINCE, {"last": self._last_id})).all()
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                log.warning("could not read token revocations: %s", error)
                self._read_at = self.monotonic()
                return
            for row in rows:
                known = self._min_version.get(row.user_id, 0)
                self._min_version[row.user_id] = max(known, row.min_version)
                self._last_id = row.id
            self._read_at = self.monotonic()
