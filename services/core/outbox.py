"""A durable local outbox: records that must reach another service, kept on
disk until they have.

Whichever service records interactions and usage (the gateway) puts each
record here first; `put` returns only once the record is on disk (SQLite,
WAL, synchronous=FULL: it survives a crash of the process and of the
machine). A replay loop, `run(send)`, delivers records oldest first and
deletes each once `send` has returned; while `send` raises (storage
unreachable), it waits with exponential backoff and tries the same record
again, so order is kept and nothing is skipped. Records stay across
restarts: a new process opening the same file replays what the last one
left.

Delivery is at least once: a crash between a successful send and the
delete, or an acknowledgement lost on the way back, sends a record again.
Records therefore carry an idempotency key end to end (for interactions,
(tenant_id, interaction_id)), and the receiver stores a replay once.

Concurrent puts share a commit (one fsync for all the records that arrived
while the previous commit was on its way to disk).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

from services.core.config import Raw, state_dir

log = logging.getLogger("keel.outbox")

Send = Callable[[bytes], Awaitable[None]]

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL UNIQUE,
      payload BLOB NOT NULL,
      put_time_us INTEGER NOT NULL
    )
    """,
    # Records `send` refused for good (see run's `is_permanent`): kept for
    # an operator, never retried.
    """
    CREATE TABLE IF NOT EXISTS outbox_dead (
      seq INTEGER PRIMARY KEY,
      key TEXT NOT NULL,
      payload BLOB NOT NULL,
      put_time_us INTEGER NOT NULL,
      error TEXT NOT NULL
    )
    """,
)


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        initial_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        read_batch: int = 100,
    ) -> None:
        self.path = path
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.read_batch = read_batch
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._queue: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    @classmethod
    def in_state_dir(cls, raw: Raw, name: str, **options: Any) -> Outbox:
        """The outbox file `<state_dir>/<name>.outbox.db` (one per process that
        writes: two processes must not share a file)."""
        return cls(state_dir(raw) / f"{name}.outbox.db", **options)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        await conn.execute_fetchall("PRAGMA journal_mode = WAL")
        await conn.execute_fetchall("PRAGMA synchronous = FULL")
        await conn.execute_fetchall("PRAGMA busy_timeout = 5000")
        for statement in _SCHEMA:
            await conn.execute_fetchall(statement)
        self._conn = conn

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.shield(self._committer)
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def __aenter__(self) -> Outbox:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def put(self, key: str, payload: bytes) -> None:
        """Keep a record until it is delivered; returns once it is on disk.

        A key already waiting in the outbox is not stored again. A caller
        cancelled while waiting may still have its record kept (delivery is
        at least once in any case).
        """
        if self._conn is None:
            raise RuntimeError("outbox is not open")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((key, payload, future))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_puts(), name="outbox-commit")
        await asyncio.shield(future)

    async def pending(self) -> int:
        """Records waiting for delivery."""
        async with self._lock:
            rows = await self._db.execute_fetchall("SELECT count(*) FROM outbox")
        return int(list(rows)[0][0])

    async def run(
        self, send: Send, *, is_permanent: Callable[[Exception], bool] | None = None
    ) -> None:
        """Deliver records in the order they were put, for ever (cancel to stop).

        `send(payload)` must raise when the record was not accepted. A raise
        for which `is_permanent(error)` is true (for example INVALID_ARGUMENT:
        sending again cannot help) moves the record aside to outbox_dead
        instead of blocking every record behind it.
        """
        while True:
            self._arrived.clear()
            records = await self._oldest()
            if not records:
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout=1.0)
                except TimeoutError:
                    pass
                continue
            await self._deliver(records, send, is_permanent)

    async def _deliver(
        self,
        records: list[tuple[int, str, bytes]],
        send: Send,
        is_permanent: Callable[[Exception], bool] | None,
    ) -> None:
        delivered: list[int] = []
        backoff = self.initial_backoff_s
        try:
            for seq, key, payload in records:
                while True:
                    try:
                        await send(payload)
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:  # noqa: BLE001 - every failure is retried or set aside
                        if is_permanent is not None and is_permanent(error):
                            log.error("outbox record refused for good", extra={"key": key})
                            await self._set_aside(seq, error)
                            break
                        # Forget what is delivered before waiting: a crash
                        # during a long outage then resends nothing twice.
                        await self._delete(delivered)
                        delivered = []
                        delay = backoff * random.uniform(0.5, 1.0)
                        log.warning(
                            "outbox delivery failed; will retry",
                            extra={
                                "key": key,
                                "retry_in_s": round(delay, 3),
                                "error": type(error).__name__,
                            },
                        )
                        await asyncio.sleep(delay)
                        backoff = min(backoff * 2, self.max_backoff_s)
                    else:
                        delivered.append(seq)
                        backoff = self.initial_backoff_s
                        break
        finally:
            await self._delete(delivered)

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("outbox is not open")
        return self._conn

    async def _commit_puts(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    async with self._lock:
                        await self._db.execute_fetchall("BEGIN IMMEDIATE")
                        try:
                            await self._db.executemany(
                                "INSERT INTO outbox (key, payload, put_time_us) VALUES (?, ?, ?)"
                                " ON CONFLICT (key) DO NOTHING",
                                [
                                    (key, payload, time.time_ns() // 1000)
                                    for key, payload, _ in batch
                                ],
                            )
                            await self._db.execute_fetchall("COMMIT")
                        except BaseException:
                            await self._db.execute_fetchall("ROLLBACK")
                            raise
                except BaseException as error:
                    # Every waiting put learns its record was not kept.
                    failure = (
                        error if isinstance(error, Exception) else RuntimeError("outbox closed")
                    )
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)
                self._arrived.set()
        finally:
            self._committer = None

    async def _oldest(self) -> list[tuple[int, str, bytes]]:
        async with self._lock:
            rows = await self._db.execute_fetchall(
                "SELECT seq, key, payload FROM outbox ORDER BY seq LIMIT ?", (self.read_batch,)
            )
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    async def _delete(self, seqs: list[int]) -> None:
        if not seqs or self._conn is None:
            return
        async with self._lock:
            await self._db.execute_fetchall("BEGIN IMMEDIATE")
            await self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            await self._db.execute_fetchall("COMMIT")

    async def _set_aside(self, seq: int, error: Exception) -> None:
        async with self._lock:
            await self._db.execute_fetchall("BEGIN IMMEDIATE")
            await self._db.execute_fetchall(
                "INSERT INTO outbox_dead (seq, key, payload, put_time_us, error)"
                " SELECT seq, key, payload, put_time_us, ? FROM outbox WHERE seq = ?",
                (f"{type(error).__name__}: {error}"[:500], seq),
            )
            await self._db.execute_fetchall("DELETE FROM outbox WHERE seq = ?", (seq,))
            await self._db.execute_fetchall("COMMIT")
