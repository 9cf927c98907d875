"""The outbox in front of storage: records kept while storage is away are
stored exactly once when it is back (idempotency keys end to end)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc
from keel.v1 import generation_pb2

from services.core.channels import open_channel
from services.core.outbox import Outbox
from tests.unit.storage.conftest import running_storage
from tests.unit.storage.tcp_proxy import free_port


def interaction(n: int) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(
            tenant_id="acme",
            interaction_id=f"int-{n}",
            usage=generation_pb2.Usage(input_tokens=10, output_tokens=5, cost_micros=100),
        )
    )


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    async with Outbox(tmp_path / "gateway.outbox.db", initial_backoff_s=0.05) as box:
        yield box


async def wait_until_empty(box: Outbox, within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while await box.pending():
        assert time.monotonic() < deadline, "outbox not drained"
        await asyncio.sleep(0.05)


async def test_records_kept_while_storage_is_down_are_stored_once_when_it_returns(
    outbox: Outbox, tmp_path: Path
) -> None:
    port = free_port()
    channel = open_channel(f"127.0.0.1:{port}", margin_s=0.015)
    ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
    attempts = 0

    async def send(payload: bytes) -> None:
        nonlocal attempts
        attempts += 1
        await ledger.RecordInteraction(
            ledger_pb2.RecordInteractionRequest.FromString(payload), timeout=1
        )

    for n in range(20):
        await outbox.put(f"int-{n}", interaction(n).SerializeToString())
    replay = asyncio.create_task(outbox.run(send))
    await asyncio.sleep(0.3)  # storage is down: sends fail and back off
    failed_while_down = attempts

    async with running_storage(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path, port=port) as st:
        await wait_until_empty(outbox)
        usage = await ledger_pb2_grpc.LedgerServiceStub(st.channel).GetUsage(
            ledger_pb2.GetUsageRequest(tenant_id="acme")
        )
    replay.cancel()
    await asyncio.gather(replay, return_exceptions=True)
    await channel.close()

    assert failed_while_down >= 2
    assert (usage.request_count, usage.input_tokens, usage.cost_micros) == (20, 200, 2000)


async def test_a_record_whose_acknowledgement_was_lost_is_sent_again_and_stored_once(
    outbox: Outbox, tmp_path: Path
) -> None:
    async with running_storage(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path) as st:
        ledger = ledger_pb2_grpc.LedgerServiceStub(st.channel)
        created: list[bool] = []

        async def send_losing_first_ack(payload: bytes) -> None:
            reply = await ledger.RecordInteraction(
                ledger_pb2.RecordInteractionRequest.FromString(payload)
            )
            created.append(reply.created)
            if len(created) == 1:
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.aio.Metadata(),
                    grpc.aio.Metadata(),
                    details="connection reset before the reply arrived",
                )

        await outbox.put("int-1", interaction(1).SerializeToString())
        replay = asyncio.create_task(outbox.run(send_losing_first_ack))
        await wait_until_empty(outbox)
        replay.cancel()
        await asyncio.gather(replay, return_exceptions=True)
        usage = await ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="acme"))

    assert created == [True, False]
    assert usage.request_count == 1
