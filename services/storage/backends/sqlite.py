"""SQLite through aiosqlite: the embedded default.

Durability: WAL journal with synchronous=FULL. In WAL mode, NORMAL already
makes a commit survive a crash (kill -9) of this process, because the WAL
frames are written to the OS before COMMIT returns; it does not survive an
OS crash or power loss, where the last commits may roll back. FULL fsyncs the
WAL at every commit, so an acknowledged write survives those too. Storage
acknowledges usage rows that carry money, and the write batcher groups
concurrent writes into one commit, so the fsync is paid per batch, not per
row: FULL costs little here. `storage.sqlite_synchronous` can choose NORMAL.

Concurrency: one writer connection (SQLite has one writer at a time; an
asyncio lock serialises our transactions on it, BEGIN IMMEDIATE and
busy_timeout serialise us against other processes) and a few reader
connections, which WAL lets run beside the writer. aiosqlite runs each
connection on its own thread, so nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from services.storage.backends.base import Connection, Database, DatabaseUnavailable, Row

_PLACEHOLDER = re.compile(r"\$(\d+)")

# Primary result codes that mean "the database cannot do its job now" rather
# than "this statement is wrong": busy/locked past busy_timeout, I/O errors, a
# full disk, a file that cannot be opened or written.
_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PROTOCOL,
}
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


@functools.lru_cache(maxsize=1024)
def _sqlite_sql(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


class _SqliteConnection:
    def __init__(self, conn: aiosqlite.Connection, db: SqliteDatabase) -> None:
        self._conn = conn
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._db.guard():
            cursor = await self._conn.execute(_sqlite_sql(sql), args)
            changed = cursor.rowcount
            await cursor.close()
            return changed

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._db.guard():
            await self._conn.executemany(_sqlite_sql(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._db.guard():
            return list(await self._conn.execute_fetchall(_sqlite_sql(sql), args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path, *, synchronous: str = "FULL", readers: int = 2) -> None:
        synchronous = synchronous.upper()
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"storage.sqlite_synchronous must be one of {SYNCHRONOUS_MODES}")
        self.path = path
        self.synchronous = synchronous
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def _connect(self, *, query_only: bool) -> aiosqlite.Connection:
        # isolation_level=None: the driver opens no transactions of its own;
        # transaction() issues BEGIN IMMEDIATE / COMMIT itself.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._all.append(conn)
        conn.row_factory = sqlite3.Row
        # Pragmas are read to the end: a statement left half-read would keep
        # a read lock on the file.
        await conn.execute_fetchall("PRAGMA busy_timeout = 5000")
        await conn.execute_fetchall(f"PRAGMA synchronous = {self.synchronous}")
        await conn.execute_fetchall("PRAGMA foreign_keys = ON")
        if query_only:
            await conn.execute_fetchall("PRAGMA query_only = ON")
        return conn

    async def open(self) -> None:
        async with self.guard():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = await self._connect(query_only=False)
            # WAL is a property of the file: set once, it stays.
            await self._writer.execute_fetchall("PRAGMA journal_mode = WAL")
            for _ in range(self._reader_count):
                self._readers.put_nowait(await self._connect(query_only=True))

    async def close(self) -> None:
        self.ready = False
        connections, self._all = self._all, []
        self._writer = None
        self._readers = asyncio.Queue()
        for conn in connections:
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                pass

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Turn "cannot reach the database" errors into DatabaseUnavailable."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _UNAVAILABLE_CODES:
                raise self._unavailable(error) from error
            raise
        except ValueError as error:
            # aiosqlite: "Connection closed" / "no active connection".
            if "connection" in str(error).lower():
                raise self._unavailable(error) from error
            raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        if self._writer is None:
            raise DatabaseUnavailable("the database is not open yet")
        async with self._write_lock:
            conn = _SqliteConnection(self._writer, self)
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT: the writer must not stay inside
                # a transaction for the next caller.
                with contextlib.suppress(sqlite3.Error, DatabaseUnavailable):
                    await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[Connection]:
        if self._writer is None:
            raise DatabaseUnavailable("the database is not open yet")
        reader = await self._readers.get()
        try:
            yield _SqliteConnection(reader, self)
        finally:
            self._readers.put_nowait(reader)

    async def probe(self) -> None:
        # Reads a page of the file, unlike a bare SELECT 1.
        async with self._reading() as conn:
            await conn.fetch("SELECT count(*) FROM sqlite_master")

    async def lock_for_migration(self, conn: Connection) -> None:
        # BEGIN IMMEDIATE already holds SQLite's single write lock.
        return None
