"""The durable local outbox: on disk before put returns, delivered in order,
retried with backoff while the receiver is away, kept across a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from services.core.outbox import Outbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = Outbox(tmp_path / "gateway.outbox.db", initial_backoff_s=0.02, max_backoff_s=0.2)
    await box.open()
    yield box
    await box.close()


async def replay_until(
    box: Outbox, send: Callable[[bytes], Awaitable[None]], done: Callable[[], bool], **kw: object
) -> None:
    """Run the replay loop until `done()` (or fail after 5 s)."""
    runner = asyncio.create_task(box.run(send, **kw))  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 5
        while not done():
            assert time.monotonic() < deadline, "replay did not finish"
            await asyncio.sleep(0.01)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_record_is_on_disk_when_put_returns(outbox: Outbox) -> None:
    await outbox.put("int-1", b"payload-1")

    with sqlite3.connect(outbox.path) as other:  # another connection: what a restart would see
        rows = other.execute("SELECT key, payload FROM outbox").fetchall()
    assert rows == [("int-1", b"payload-1")]


async def test_records_are_delivered_in_the_order_they_were_put_then_deleted(
    outbox: Outbox,
) -> None:
    for n in range(5):
        await outbox.put(f"k{n}", f"p{n}".encode())
    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        delivered.append(payload)

    await replay_until(outbox, send, lambda: len(delivered) == 5)

    assert delivered == [b"p0", b"p1", b"p2", b"p3", b"p4"]
    assert await outbox.pending() == 0


async def test_records_put_while_replaying_are_delivered_too(outbox: Outbox) -> None:
    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        delivered.append(payload)

    async def put_later() -> None:
        await asyncio.sleep(0.05)
        await outbox.put("late", b"late")

    putter = asyncio.create_task(put_later())
    await replay_until(outbox, send, lambda: delivered == [b"late"])
    await putter


async def test_while_send_fails_the_same_record_is_retried_with_growing_backoff(
    outbox: Outbox,
) -> None:
    await outbox.put("k0", b"first")
    await outbox.put("k1", b"second")
    attempts: list[tuple[float, bytes]] = []
    delivered: list[bytes] = []

    async def flaky(payload: bytes) -> None:
        attempts.append((time.monotonic(), payload))
        if len(attempts) <= 4:
            raise ConnectionError("storage is down")
        delivered.append(payload)

    await replay_until(outbox, flaky, lambda: len(delivered) == 2)

    assert [p for _, p in attempts] == [b"first"] * 5 + [b"second"]
    gaps = [b[0] - a[0] for a, b in zip(attempts, attempts[1:5], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] >= 0.01
    assert delivered == [b"first", b"second"]


async def test_after_the_first_record_goes_through_the_rest_are_sent_together(
    outbox: Outbox,
) -> None:
    for n in range(5):
        await outbox.put(f"k{n}", f"p{n}".encode())
    in_flight: list[bytes] = []
    together: list[int] = []
    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        in_flight.append(payload)
        together.append(len(in_flight))
        await asyncio.sleep(0.02)
        in_flight.remove(payload)
        delivered.append(payload)

    await replay_until(outbox, send, lambda: len(delivered) == 5)

    assert together == [1, 1, 2, 3, 4]  # the oldest alone, then the other four at once
    assert sorted(delivered) == [b"p0", b"p1", b"p2", b"p3", b"p4"]


async def test_delivered_records_are_deleted_when_no_put_follows(tmp_path: Path) -> None:
    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        delivered.append(payload)

    async with Outbox(tmp_path / "gateway.outbox.db", idle_delete_s=0.05) as box:
        await box.put("k0", b"p0")
        runner = asyncio.create_task(box.run(send))
        try:
            deadline = time.monotonic() + 5
            while True:
                with sqlite3.connect(box.path) as other:
                    left = other.execute("SELECT count(*) FROM outbox").fetchone()[0]
                if delivered and left == 0:
                    break
                assert time.monotonic() < deadline, "delivered record not deleted"
                await asyncio.sleep(0.02)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)


async def test_a_key_put_twice_is_kept_once(outbox: Outbox) -> None:
    await outbox.put("int-1", b"payload")
    await outbox.put("int-1", b"payload")

    assert await outbox.pending() == 1


async def test_concurrent_puts_are_all_kept(outbox: Outbox) -> None:
    await asyncio.gather(*(outbox.put(f"k{n}", b"x") for n in range(200)))

    assert await outbox.pending() == 200


async def test_a_record_refused_for_good_is_set_aside_and_the_rest_delivered(
    outbox: Outbox,
) -> None:
    for payload in (b"good-1", b"poison", b"good-2"):
        await outbox.put(payload.decode(), payload)
    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        if payload == b"poison":
            raise ValueError("invalid record")
        delivered.append(payload)

    await replay_until(
        outbox, send, lambda: len(delivered) == 2, is_permanent=lambda e: isinstance(e, ValueError)
    )

    assert delivered == [b"good-1", b"good-2"]
    with sqlite3.connect(outbox.path) as other:
        dead = other.execute("SELECT key, error FROM outbox_dead").fetchall()
    assert dead == [("poison", "ValueError: invalid record")]


CRASHING_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from services.core.outbox import Outbox

async def main() -> None:
    box = Outbox(Path(sys.argv[1]))
    await box.open()
    for n in range(50):
        await box.put(f"k{n}", f"p{n}".encode())
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_records_survive_a_crash_and_are_replayed_by_the_next_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.outbox.db"
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_WRITER,
        str(path),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}"},
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(writer.communicate(), timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert stdout.decode().strip() == "acknowledged"

    delivered: list[bytes] = []

    async def send(payload: bytes) -> None:
        delivered.append(payload)

    async with Outbox(path) as reopened:
        await replay_until(reopened, send, lambda: len(delivered) == 50)
        assert await reopened.pending() == 0

    assert delivered == [f"p{n}".encode() for n in range(50)]
