"""Background housekeeping of a running storage: retention and the cache purge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from google.protobuf import duration_pb2
from keel.storage.v1 import (
    ledger_pb2,
    ledger_pb2_grpc,
    response_cache_pb2,
    response_cache_pb2_grpc,
)

from services.storage.times import DAY_US, to_timestamp
from tests.unit.storage.conftest import FakeClock, running_storage


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, "did not happen in time"
        await asyncio.sleep(0.02)


async def test_interactions_older_than_the_retention_period_are_deleted_in_the_background(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_storage(
        f"sqlite:///{tmp_path / 'keel.db'}",
        tmp_path,
        clock,
        retention_days=30,
        retention_interval_s=0.05,
    ) as storage:
        ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)
        for iid, age_days in (("expired", 31), ("kept", 29)):
            await ledger.RecordInteraction(
                ledger_pb2.RecordInteractionRequest(
                    interaction=ledger_pb2.Interaction(
                        tenant_id="acme",
                        interaction_id=iid,
                        start_time=to_timestamp(clock.now - age_days * DAY_US),
                    )
                )
            )

        async def only_recent_left() -> bool:
            page = await ledger.ListInteractions(
                ledger_pb2.ListInteractionsRequest(tenant_id="acme")
            )
            return [i.interaction_id for i in page.interactions] == ["kept"]

        await eventually(only_recent_left)


async def test_cache_entries_past_their_stale_ttl_are_purged_in_the_background(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running_storage(
        f"sqlite:///{tmp_path / 'keel.db'}", tmp_path, clock, cache_purge_interval_s=0.05
    ) as storage:
        cache = response_cache_pb2_grpc.ResponseCacheServiceStub(storage.channel)
        await cache.PutCachedResponse(
            response_cache_pb2.PutCachedResponseRequest(
                tenant_id="acme", cache_key="k", value=b"v", ttl=duration_pb2.Duration(seconds=1)
            )
        )
        clock.advance(2)

        async def purged() -> bool:
            async with storage.app.db.reading() as conn:
                left = await conn.fetchrow("SELECT count(*) FROM response_cache")
            return left is not None and left[0] == 0

        await eventually(purged)
