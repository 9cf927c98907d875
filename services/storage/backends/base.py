"""The one interface storage code uses to reach a database, whichever it is.

Queries are written once, in the SQL that SQLite and PostgreSQL share, with
PostgreSQL's `$1, $2, ...` placeholders (the SQLite backend rewrites them to
`?1, ?2, ...`). Times are integers (microseconds since the Unix epoch, in
`*_us` columns) in both databases, so period arithmetic, ordering and daily
buckets are the same integer maths everywhere.

A backend raises DatabaseUnavailable when the database cannot be reached
(and tells `on_unavailable`, so health flips at once); the serving
interceptor turns it into UNAVAILABLE with RetryInfo.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from services.core.errors import Unavailable

# Both drivers' rows (sqlite3.Row, asyncpg.Record) read by name and by index.
Row = Any


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached now; the same call may work later."""

    default_reason = "DATABASE_UNAVAILABLE"

    def __init__(self, message: str = "the database is unreachable") -> None:
        super().__init__(message, retry_after_s=1.0)


class Connection(Protocol):
    """One connection, inside a transaction or a read."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class Database(abc.ABC):
    """A database: opened once, then used through transactions and reads."""

    dialect: str
    # Called with the error whenever an operation finds the database
    # unreachable (health uses it to flip to NOT_SERVING at once).
    on_unavailable: Callable[[BaseException], None] | None = None

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect; raises DatabaseUnavailable when the database is unreachable."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # True once the database is open and migrated; until then (and after
    # close) transaction() and reading() refuse with DatabaseUnavailable, so
    # no request ever meets a half-built schema.
    ready: bool = False

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: committed when the block ends, rolled back on error."""
        if not self.ready:
            raise DatabaseUnavailable("the database is not ready yet")
        return self._transaction()

    def reading(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads (autocommit: each statement sees committed data)."""
        if not self.ready:
            raise DatabaseUnavailable("the database is not ready yet")
        return self._reading()

    def migration_transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction before the database is ready: for migrations only."""
        return self._transaction()

    @abc.abstractmethod
    def _transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    @abc.abstractmethod
    def _reading(self) -> AbstractAsyncContextManager[Connection]: ...

    @abc.abstractmethod
    async def probe(self) -> None:
        """A tiny real query; raises DatabaseUnavailable when it fails."""

    @abc.abstractmethod
    async def lock_for_migration(self, conn: Connection) -> None:
        """Inside a transaction: keep other replicas out of migrations until it ends."""

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        if self.on_unavailable is not None:
            self.on_unavailable(error)
        return DatabaseUnavailable()
