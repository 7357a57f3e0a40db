"""Engine and transactions: one Database per process, for PostgreSQL or embedded SQLite.

On PostgreSQL the connections are made to fail fast rather than hang when the server goes
away (a restart, a failover, a node that vanished): a connect timeout, a server-side
statement timeout, TCP keepalives and a TCP user timeout on the socket (and a per-command
timeout, if one is set). A connection that broke is discarded with every other pooled
connection (they all led to the same server), and `run` starts a transaction again once when
it is known not to have committed.
"""

import asyncio
import contextlib
import random
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sugang.config import Settings

T = TypeVar("T")

# Deadlock and serialization failures: the whole transaction is safe to run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# The server is going away or not taking connections (a restart, a failover, a crash): the
# connection is of no more use, and neither are the others to the same server.
_SERVER_GONE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
# asyncpg's own words for a connection it can no longer use.
_BROKEN = ("connection was closed", "connection is closed", "another operation")


def is_retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def is_disconnect(error: BaseException) -> bool:
    """The connection broke (or was never made): nothing on it can be trusted any more."""
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or _is_broken(error.orig)
    return isinstance(error, OSError | TimeoutError)


def _is_broken(orig: BaseException | None) -> bool:
    if orig is None:
        return False
    sqlstate = str(getattr(orig, "sqlstate", "") or "")
    if sqlstate.startswith(_SERVER_GONE_SQLSTATES):
        return True
    cause = orig.__cause__ or orig.__context__
    text_ = f"{orig} {cause or ''}".lower()
    return any(words in text_ for words in _BROKEN) or isinstance(cause, OSError | TimeoutError)


class CommitUnknown(Exception):
    """The connection broke while the transaction was committing: it may or may not have
    been applied. Not retried (a retry could act twice); the client may retry with the same
    Idempotency-Key, or look."""


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
            self.engine = _postgres_engine(settings)
            self._write_lock = None
        # One connection of its own for the operators' reads (readiness, metrics), so that
        # they never wait behind requests for the pool: a full pool is when they matter most.
        self.side_engine = (
            self.engine
            if self.is_sqlite
            else _postgres_engine(
                settings, pool_size=1, pool_timeout=settings.db_side_timeout_seconds
            )
        )
        self.side_timeout = settings.db_side_timeout_seconds

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
            transaction = await conn.begin()
            try:
                yield conn
            except BaseException:
                if transaction.is_active:
                    with contextlib.suppress(DBAPIError, OSError):
                        await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except (DBAPIError, OSError) as error:  # OSError: TimeoutError too
                if is_disconnect(error):
                    raise CommitUnknown() from error
                raise

    async def run(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        write: bool = True,
        attempts: int = 5,
    ) -> T:
        """Run `work` in a transaction, again from the start after a deadlock, or once after
        the connection broke before the commit (nothing of it was applied)."""
        reconnected = False
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(write=write) as conn:
                    return await work(conn)
            except (DBAPIError, OSError, TimeoutError) as error:
                if attempt == attempts:
                    raise
                if isinstance(error, DBAPIError) and is_retryable(error):
                    await asyncio.sleep(random.uniform(0.001, 0.01 * attempt))
                elif is_disconnect(error) and not reconnected:
                    reconnected = True
                    await asyncio.sleep(random.uniform(0.05, 0.2))  # let the server come back
                else:
                    raise
        raise AssertionError("unreachable")

    async def warm_up(self, connections: int) -> None:
        """Open `connections` pooled connections now, so the first burst of requests does
        not pay for opening them (PostgreSQL; SQLite connections are cheap)."""
        if self.is_sqlite:
            return
        async with AsyncExitStack() as stack:
            opened = [stack.enter_async_context(self.engine.connect()) for _ in range(connections)]
            await asyncio.gather(*opened)

    async def probe(self) -> None:
        """The database answers, on the side connection, within its short timeout (raises if
        not)."""
        async with asyncio.timeout(self.side_timeout), self.side_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @asynccontextmanager
    async def side_read(self) -> AsyncIterator[AsyncConnection]:
        """A read on the side connection, given up after the short timeout."""
        async with asyncio.timeout(self.side_timeout), self.side_engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.side_engine is not self.engine:
            await self.side_engine.dispose()


def _postgres_engine(
    settings: Settings, *, pool_size: int | None = None, pool_timeout: float | None = None
) -> AsyncEngine:
    server_settings = {
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        # the server's side of the keepalives: it notices a client that vanished
        "tcp_keepalives_idle": str(settings.db_keepalive_idle_seconds),
        "tcp_keepalives_interval": str(settings.db_keepalive_interval_seconds),
        "tcp_keepalives_count": str(settings.db_keepalive_count),
    }
    connect_args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,
        # None by default: a client-side timeout would also cut off a COMMIT waiting for
        # the synchronous standby, leaving it applied on the primary alone. A dead server
        # is noticed by TCP_USER_TIMEOUT and keepalives, a slow statement by its timeout.
        "command_timeout": settings.db_command_timeout_seconds,
        "server_settings": server_settings,
    }
    if settings.db_pooler == "pgbouncer":
        # PgBouncer refuses startup parameters it does not track, and in transaction mode
        # the next transaction may run on another server connection, where a statement
        # prepared under a cached name does not exist (SQLAlchemy's asyncpg notes)
        del connect_args["server_settings"]
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    engine = create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=0 if pool_size else settings.db_max_overflow,
        pool_timeout=pool_timeout or settings.db_pool_timeout_seconds,
        pool_pre_ping=False,
        connect_args=connect_args,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _keep_alive(dbapi_connection.driver_connection, settings)

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # asyncpg reports some broken connections in words SQLAlchemy does not read as a
        # disconnect ("cannot switch to state ...; another operation is in progress"): say
        # so, and the pool discards it (with the others to the same server).
        if not context.is_disconnect and _is_broken(context.original_exception):
            context.is_disconnect = True

    return engine


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _keep_alive(connection: Any, settings: Settings) -> None:
    """The client's side: TCP keepalives notice a server that vanished while the connection
    is idle, and TCP_USER_TIMEOUT one that vanished while a request was being sent; without
    them a pooled connection to a lost node hangs until the kernel gives up (~15 min)."""
    transport = getattr(connection, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket: nothing in between to vanish
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, settings.db_keepalive_idle_seconds)
        sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, settings.db_keepalive_interval_seconds
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, settings.db_keepalive_count)
    if hasattr(socket, "TCP_USER_TIMEOUT"):
        sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(settings.db_tcp_user_timeout_ms)
        )


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
