"""Group commit: concurrent writes share one transaction.

Usage rows arrive in bursts, one RPC each. Each caller hands its row to the
batcher and waits; while one batch commits, the rows that arrive meanwhile
gather into the next, so under load a transaction carries many rows (one
fsync on SQLite, one commit round trip on PostgreSQL) and at low load a row
waits for nothing but its own commit. A caller is acknowledged only after
the transaction holding its row has committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from prometheus_client import Histogram

from services.core.errors import KeelError, Unavailable

log = logging.getLogger("keel.storage.batcher")

T = TypeVar("T")
R = TypeVar("R")

BATCH_ROWS = Histogram(
    "keel_storage_batch_rows",
    "Rows per group-committed write transaction",
    ["batch"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)


def _consume(future: asyncio.Future[Any]) -> None:
    # A caller that was cancelled never reads its future's error: read it
    # here so asyncio does not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()


class WriteBatcher(Generic[T, R]):
    def __init__(
        self,
        name: str,
        write: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_rows: int = 256,
    ) -> None:
        """`write(rows)` stores rows in one transaction and returns one result per row."""
        self.name = name
        self._write = write
        self._max_rows = max_rows
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, row: T) -> R:
        """Stores `row` with whatever else is waiting; returns once it is committed."""
        if self._closed:
            raise Unavailable("storage is shutting down", retry_after_s=1.0)
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        self._pending.append((row, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name=f"batcher-{self.name}")
        # Shielded: a caller that gives up does not cancel its batch-mates' commit.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Refuse new rows; wait for those already handed in."""
        self._closed = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_rows]
                del self._pending[: self._max_rows]
                BATCH_ROWS.labels(self.name).observe(len(batch))
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([row for row, _ in batch])
        except KeelError as error:  # the database is unavailable: every row failed
            for _, future in batch:
                _settle(future, error=error)
            return
        except Exception as error:  # noqa: BLE001
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            # One bad row must not fail its batch-mates: write each alone.
            log.warning("batch failed, retrying its rows one by one", extra={"rows": len(batch)})
            for item in batch:
                await self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[R], *, result: R | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
