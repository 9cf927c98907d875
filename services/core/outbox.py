"""A durable local outbox: records that must reach another service, kept on
disk until they have.

Whichever service records interactions and usage (the gateway) puts each
record here first; `put` returns only once the record is on disk (SQLite,
WAL, synchronous=FULL: it survives a crash of the process and of the
machine). A replay loop, `run(send)`, delivers records oldest first. While
the receiver answers, a batch of records is sent at once (the receiver
coalesces concurrent records into one write); while `send` raises (storage
unreachable), it waits with exponential backoff and tries the oldest record
alone until it goes through, so nothing is skipped and a receiver that is
away is probed with one call, not a burst. Records stay across restarts: a
new process opening the same file replays what the last one left.

Delivery is at least once: a crash between a successful send and the
delete, or an acknowledgement lost on the way back, sends a record again.
Records therefore carry an idempotency key end to end (for interactions,
(tenant_id, interaction_id)), and the receiver stores a replay once; the
order in which records arrive does not matter to it.

That is also why a delete is not worth an fsync of its own: delivered rows
are deleted in the transaction of the next put, whose commit is on its way
to disk anyway (or on their own after a quiet second). Concurrent puts share
a commit (one fsync for all the records that arrived while the previous
commit was on its way to disk).

SQLite is called from one thread of the outbox's own, one call per
transaction, never on the event loop; that thread also keeps transactions
apart, so no lock is needed on this side.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from services.core.config import Raw, state_dir

log = logging.getLogger("keel.outbox")

Send = Callable[[bytes], Awaitable[None]]
Record = tuple[int, str, bytes]  # (seq, key, payload)
T = TypeVar("T")

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
_INSERT = (
    "INSERT INTO outbox (key, payload, put_time_us) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
_DELETE = "DELETE FROM outbox WHERE seq = ?"


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        initial_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        read_batch: int = 100,
        idle_delete_s: float = 1.0,
    ) -> None:
        self.path = path
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        # Also the most records sent at once.
        self.read_batch = read_batch
        # Delivered rows wait this long for a put to carry their delete.
        self.idle_delete_s = idle_delete_s
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._queue: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        # Delivered rows not yet deleted, and the last seq the replay loop is
        # done with (rows up to it are delivered or set aside).
        self._delivered: list[int] = []
        self._done_through = 0
        # After a failed send (and before the first), the oldest record is
        # sent alone until one goes through.
        self._probing = True

    @classmethod
    def in_state_dir(cls, raw: Raw, name: str, **options: Any) -> Outbox:
        """The outbox file `<state_dir>/<name>.outbox.db` (one per process that
        writes: two processes must not share a file)."""
        return cls(state_dir(raw) / f"{name}.outbox.db", **options)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._conn = await self._call(self._connect)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 5000")
        for statement in _SCHEMA:
            conn.execute(statement)
        return conn

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.shield(self._committer)
        if self._conn is not None:
            await self._flush_deletes()
        conn, self._conn = self._conn, None
        thread, self._thread = self._thread, None
        if thread is not None:
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(thread, conn.close)
            thread.shutdown(wait=False)

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
        await self._flush_deletes()
        return await self._call(self._count)

    async def run(
        self, send: Send, *, is_permanent: Callable[[Exception], bool] | None = None
    ) -> None:
        """Deliver records oldest first, for ever (cancel to stop); up to
        `read_batch` of them are sent at once while the receiver answers.

        `send(payload)` must raise when the record was not accepted. A raise
        for which `is_permanent(error)` is true (for example INVALID_ARGUMENT:
        sending again cannot help) moves the record aside to outbox_dead
        instead of blocking every record behind it.
        """
        try:
            while True:
                self._arrived.clear()
                records = await self._call(self._unsent, self._done_through, self.read_batch)
                if records:
                    await self._deliver(records, send, is_permanent)
                    self._done_through = records[-1][0]
                    if len(records) == self.read_batch or self._arrived.is_set():
                        continue  # more are waiting
                # Everything put so far is delivered: wait for the next put.
                try:
                    async with asyncio.timeout(self.idle_delete_s):
                        await self._arrived.wait()
                except TimeoutError:
                    # Quiet: no put is coming to carry the deletes.
                    await self._flush_deletes()
        finally:
            await self._flush_deletes()

    async def _deliver(
        self,
        records: list[Record],
        send: Send,
        is_permanent: Callable[[Exception], bool] | None,
    ) -> None:
        waiting = records
        backoff = self.initial_backoff_s
        while waiting:
            if self._probing:
                sending, waiting = waiting[:1], waiting[1:]
            else:
                sending, waiting = waiting, []
            failed: list[tuple[Record, Exception]] = []
            await asyncio.gather(*(self._send(send, r, failed) for r in sending))
            retry: list[Record] = []
            for record, error in failed:
                if is_permanent is not None and is_permanent(error):
                    log.error("outbox record refused for good", extra={"key": record[1]})
                    await self._call(self._set_aside, record[0], error)
                else:
                    retry.append(record)
            if len(retry) < len(sending):
                self._probing = False
                backoff = self.initial_backoff_s
            if not retry:
                continue
            self._probing = True
            # The oldest first again; what was never tried stays behind them.
            waiting = sorted(retry) + waiting
            # Forget what is delivered before waiting: a crash during a long
            # outage then resends nothing twice.
            await self._flush_deletes()
            delay = backoff * random.uniform(0.5, 1.0)
            error = next(e for r, e in failed if r is waiting[0])
            log.warning(
                "outbox delivery failed; will retry",
                extra={
                    "key": waiting[0][1],
                    "failed": len(retry),
                    "retry_in_s": round(delay, 3),
                    "error": type(error).__name__,
                },
            )
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def _send(
        self, send: Send, record: Record, failed: list[tuple[Record, Exception]]
    ) -> None:
        try:
            await send(record[2])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - every failure is retried or set aside
            failed.append((record, error))
        else:
            self._delivered.append(record[0])

    async def _call(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work` on the outbox's thread (the one that owns the connection)."""
        if self._thread is None:
            raise RuntimeError("outbox is not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("outbox is not open")
        return self._conn

    async def _commit_puts(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                deletes, self._delivered = self._delivered, []
                try:
                    await self._call(self._write, [(k, p) for k, p, _ in batch], deletes)
                except BaseException as error:
                    self._delivered[:0] = deletes
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

    async def _flush_deletes(self) -> None:
        if not self._delivered or self._conn is None:
            return
        deletes, self._delivered = self._delivered, []
        try:
            await self._call(self._write, [], deletes)
        except BaseException:
            self._delivered[:0] = deletes
            raise

    # -- on the outbox's thread -------------------------------------------

    def _write(self, records: list[tuple[str, bytes]], deletes: list[int]) -> None:
        """One transaction: keep `records`, forget the delivered `deletes`."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if records:
                now_us = time.time_ns() // 1000
                db.executemany(_INSERT, [(key, payload, now_us) for key, payload in records])
            if deletes:
                db.executemany(_DELETE, [(seq,) for seq in deletes])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _unsent(self, after: int, limit: int) -> list[Record]:
        rows = self._db.execute(
            "SELECT seq, key, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [(int(seq), str(key), bytes(payload)) for seq, key, payload in rows]

    def _count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def _set_aside(self, seq: int, error: Exception) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO outbox_dead (seq, key, payload, put_time_us, error)"
                " SELECT seq, key, payload, put_time_us, ? FROM outbox WHERE seq = ?",
                (f"{type(error).__name__}: {error}"[:500], seq),
            )
            db.execute(_DELETE, (seq,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
