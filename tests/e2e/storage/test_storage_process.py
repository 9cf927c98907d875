"""The storage process: acknowledged writes survive kill -9; SIGTERM drains and exits."""

from __future__ import annotations

import asyncio
import signal

import grpc
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc
from keel.v1 import generation_pb2

from tests.e2e.storage.conftest import StorageProcess

WRITES = 1000
KILL_AFTER = 300
CONCURRENCY = 32


def record(n: int) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(
            tenant_id="acme",
            interaction_id=f"int-{n:04d}",
            usage=generation_pb2.Usage(input_tokens=3, output_tokens=4, cost_micros=5),
        )
    )


async def stored_ids(ledger: ledger_pb2_grpc.LedgerServiceStub) -> set[str]:
    ids: set[str] = set()
    token = ""
    while True:
        page = await ledger.ListInteractions(
            ledger_pb2.ListInteractionsRequest(tenant_id="acme", page_size=1000, page_token=token)
        )
        ids.update(i.interaction_id for i in page.interactions)
        token = page.next_page_token
        if not token:
            return ids


async def test_every_acknowledged_write_survives_kill_9_of_the_storage_process(
    storage_process: StorageProcess,
) -> None:
    storage_process.start()
    await storage_process.wait_serving()
    acknowledged: set[str] = set()
    killed = asyncio.Event()
    queue = iter(range(WRITES))

    async with grpc.aio.insecure_channel(storage_process.address) as channel:
        ledger = ledger_pb2_grpc.LedgerServiceStub(channel)

        async def writer() -> None:
            for n in queue:
                if killed.is_set():
                    return
                try:
                    await ledger.RecordInteraction(record(n), timeout=5)
                except grpc.aio.AioRpcError:
                    return  # the process is gone
                acknowledged.add(f"int-{n:04d}")
                if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    exit_code = storage_process.kill(signal.SIGKILL)
                    assert exit_code == -signal.SIGKILL

        await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))

    storage_process.start()
    await storage_process.wait_serving()
    async with grpc.aio.insecure_channel(storage_process.address) as channel:
        ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
        after_restart = await stored_ids(ledger)
        # The client now sends all 1,000 (as an outbox replay would): the
        # ones already stored are recognised by their ids, not stored twice.
        for start in range(0, WRITES, 100):
            await asyncio.gather(
                *(ledger.RecordInteraction(record(n)) for n in range(start, start + 100))
            )
        usage = await ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="acme"))

    assert KILL_AFTER <= len(acknowledged) < WRITES
    assert acknowledged <= after_restart
    assert (usage.request_count, usage.input_tokens, usage.cost_micros) == (
        WRITES,
        3 * WRITES,
        5 * WRITES,
    )


async def test_sigterm_stops_the_storage_process_cleanly(storage_process: StorageProcess) -> None:
    storage_process.start()
    await storage_process.wait_serving()

    exit_code = storage_process.kill(signal.SIGTERM)

    assert exit_code == 0
