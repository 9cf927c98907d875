"""PostgreSQL through asyncpg with a connection pool: the backend for more than one machine.

Durability is PostgreSQL's: a COMMIT that returned is on disk
(synchronous_commit=on, the server default), so an acknowledged write
survives a restart of the server. When the server goes away, every pooled
connection breaks; the pool reconnects on the next acquire, so storage
recovers without a restart once the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.storage.backends.base import Connection, Database, DatabaseUnavailable, Row

# A new connection that takes longer than this is a dead or unreachable server.
CONNECT_TIMEOUT_S = 2.0
# No statement of ours runs for long; one that does is stuck behind an outage.
COMMAND_TIMEOUT_S = 10.0
ACQUIRE_TIMEOUT_S = 5.0

_UNAVAILABLE = (
    OSError,  # refused, reset, unreachable, and TimeoutError
    asyncpg.PostgresConnectionError,  # SQLSTATE 08: connection lost or refused
    asyncpg.exceptions.OperatorInterventionError,  # 57P: shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # 53: disk full, too many connections
)


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE):
        return True
    # A server that ended an idle connection (pg_terminate_backend, a
    # restart) leaves asyncpg's protocol in a state it reports as an internal
    # error on the next use: the connection is dead, a new one will work.
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return True
    # "connection is closed", "pool is closing": the server or pool went away.
    return isinstance(error, asyncpg.InterfaceError) and "clos" in str(error)


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as "INSERT 0 1" or "DELETE 3"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresConnection:
    def __init__(self, conn: asyncpg.Connection, db: PostgresDatabase) -> None:
        self._conn = conn
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._db.guard():
            return _changed(await self._conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._db.guard():
            await self._conn.executemany(sql, list(rows))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._db.guard():
            return list(await self._conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._db.guard():
            return await self._conn.fetchrow(sql, *args)


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, dsn: str, *, min_connections: int = 1, max_connections: int = 10) -> None:
        self.dsn = dsn
        self.min_connections = min_connections
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        async with self.guard():
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self.min_connections,
                max_size=self.max_connections,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=COMMAND_TIMEOUT_S,
            )

    async def close(self) -> None:
        self.ready = False
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=5.0)
            except (TimeoutError, *_UNAVAILABLE):
                pool.terminate()

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Turn "cannot reach the database" errors into DatabaseUnavailable."""
        try:
            yield
        except DatabaseUnavailable:
            raise
        except Exception as error:
            if _is_unavailable(error):
                raise self._unavailable(error) from error
            raise

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise DatabaseUnavailable("the database is not open yet")
        async with self.guard():
            conn = await self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S)
        try:
            yield conn
        except DatabaseUnavailable:
            # Never hand a broken connection to the next caller. (One the
            # server closed is already detached from the pool.)
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
            raise
        finally:
            try:
                await self._pool.release(conn)
            except Exception:  # noqa: BLE001 - a broken connection is dropped by the pool
                pass

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        async with self._connection() as conn:
            tx = conn.transaction()
            async with self.guard():
                await tx.start()
            try:
                yield _PostgresConnection(conn, self)
                async with self.guard():
                    await tx.commit()
            except BaseException:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await tx.rollback()
                raise

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[Connection]:
        async with self._connection() as conn:
            yield _PostgresConnection(conn, self)

    async def probe(self) -> None:
        async with self._reading() as conn:
            await conn.fetch("SELECT 1")

    async def lock_for_migration(self, conn: Connection) -> None:
        # Released at the end of the transaction. Keyed by schema, so
        # replicas sharing a schema take turns and other schemas don't wait.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('keel.migrations.' || current_schema()))"
        )
