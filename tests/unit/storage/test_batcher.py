"""Group commit of bursts of writes: shared transactions, acknowledged after commit."""

from __future__ import annotations

import asyncio

import pytest

from services.core.errors import Unavailable
from services.storage.backends.base import DatabaseUnavailable
from services.storage.batcher import WriteBatcher


class RecordingStore:
    """A write function that keeps each committed batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def write(self, rows: list[str]) -> list[str]:
        await self.release.wait()
        if "bad" in rows:
            raise ValueError("a row the database rejects")
        self.batches.append(rows)
        return [f"stored {row}" for row in rows]


async def test_concurrent_writes_share_one_transaction() -> None:
    store = RecordingStore()
    batcher = WriteBatcher("test", store.write)

    results = await asyncio.gather(*(batcher.submit(f"r{n}") for n in range(50)))

    assert results == [f"stored r{n}" for n in range(50)]
    assert store.batches == [[f"r{n}" for n in range(50)]]


async def test_rows_arriving_during_a_commit_form_the_next_batch() -> None:
    store = RecordingStore()
    store.release.clear()
    batcher = WriteBatcher("test", store.write)
    first = asyncio.create_task(batcher.submit("first"))
    await asyncio.sleep(0.01)  # "first" is committing
    later = [asyncio.create_task(batcher.submit(f"later{n}")) for n in range(3)]
    await asyncio.sleep(0.01)

    store.release.set()
    await asyncio.gather(first, *later)

    assert store.batches == [["first"], ["later0", "later1", "later2"]]


async def test_a_batch_holds_at_most_max_rows() -> None:
    store = RecordingStore()
    batcher = WriteBatcher("test", store.write, max_rows=4)

    await asyncio.gather(*(batcher.submit(f"r{n}") for n in range(10)))

    assert [len(b) for b in store.batches] == [4, 4, 2]


async def test_a_caller_is_acknowledged_only_after_its_batch_commits() -> None:
    store = RecordingStore()
    store.release.clear()
    batcher = WriteBatcher("test", store.write)

    pending = asyncio.create_task(batcher.submit("r"))
    await asyncio.sleep(0.05)
    assert not pending.done()

    store.release.set()
    assert await pending == "stored r"


async def test_an_unreachable_database_fails_every_row_of_the_batch() -> None:
    async def unreachable(rows: list[str]) -> list[str]:
        raise DatabaseUnavailable()

    batcher = WriteBatcher("test", unreachable)

    results = await asyncio.gather(
        *(batcher.submit(f"r{n}") for n in range(3)), return_exceptions=True
    )

    assert all(isinstance(r, DatabaseUnavailable) for r in results)


async def test_one_bad_row_fails_alone_and_its_batch_mates_are_stored() -> None:
    store = RecordingStore()
    batcher = WriteBatcher("test", store.write)

    results = await asyncio.gather(
        batcher.submit("a"), batcher.submit("bad"), batcher.submit("b"), return_exceptions=True
    )

    assert results[0] == "stored a" and results[2] == "stored b"
    assert isinstance(results[1], ValueError)


async def test_a_caller_that_gives_up_does_not_cancel_its_batch() -> None:
    store = RecordingStore()
    store.release.clear()
    batcher = WriteBatcher("test", store.write)
    impatient = asyncio.create_task(batcher.submit("impatient"))
    patient = asyncio.create_task(batcher.submit("patient"))
    await asyncio.sleep(0.01)

    impatient.cancel()
    store.release.set()

    assert await patient == "stored patient"
    assert store.batches == [["impatient", "patient"]]


async def test_after_close_pending_rows_are_committed_and_new_rows_refused() -> None:
    store = RecordingStore()
    store.release.clear()
    batcher = WriteBatcher("test", store.write)
    pending = asyncio.create_task(batcher.submit("in time"))
    await asyncio.sleep(0.01)

    closing = asyncio.create_task(batcher.close())
    await asyncio.sleep(0.01)
    with pytest.raises(Unavailable):
        await batcher.submit("too late")
    store.release.set()
    await closing

    assert await pending == "stored in time"
