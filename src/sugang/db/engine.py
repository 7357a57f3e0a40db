"""Engine and transactions: one Database per process, for PostgreSQL or embedded SQLite."""

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sugang.config import Settings

T = TypeVar("T")

# Deadlock and serialization failures: the whole transaction is safe to run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class Database:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.is_sqlite = settings.is_sqlite
        if self.is_sqlite:
            self.engine = _sqlite_engine(settings)
            # One writer at a time inside this process: waiting here is cheaper and fairer
            # than spinning in SQLite's busy handler. Other processes meet busy_timeout.
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            self.engine = create_async_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout_seconds,
                pool_pre_ping=False,
            )
            self._write_lock = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        if self._write_lock is not None and write:
            async with self._write_lock, self._begin(write=True) as conn:
                yield conn
        else:
            async with self._begin(write=write) as conn:
                yield conn

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which each statement is its own transaction (PostgreSQL): for
        work whose every write is one statement, so no transaction stays open between them."""
        if self.is_sqlite:
            raise NotImplementedError("SQLite writes take BEGIN IMMEDIATE: use transaction()")
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def _begin(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                await conn.execution_options(sugang_write=write)
            async with conn.begin():
                yield conn

    async def run(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        write: bool = True,
        attempts: int = 5,
    ) -> T:
        """Run `work` in a transaction, again from the start after a deadlock."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(write=write) as conn:
                    return await work(conn)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                await asyncio.sleep(random.uniform(0.001, 0.01 * attempt))
        raise AssertionError("unreachable")

    async def warm_up(self, connections: int) -> None:
        """Open `connections` pooled connections now, so the first burst of requests does
        not pay for opening them (PostgreSQL; SQLite connections are cheap)."""
        if self.is_sqlite:
            return
        async with AsyncExitStack() as stack:
            opened = [stack.enter_async_context(self.engine.connect()) for _ in range(connections)]
            await asyncio.gather(*opened)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(settings.database_url)
    busy_timeout = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by us (below), not by the driver's implicit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("sugang_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
