"""Schema migrations: from empty, from the previous version, again, and by two replicas at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.storage.backends import open_database
from services.storage.backends.base import Database
from services.storage.migrations import LATEST, applied_versions, migrate
from services.storage.tables.interactions import Interactions
from services.storage.tables.response_cache import ResponseCache
from services.storage.tables.tenants import Tenants
from tests.unit.storage.conftest import FakeClock


async def test_an_empty_database_is_migrated_to_the_latest_version(unmigrated: Database) -> None:
    applied = await migrate(unmigrated)

    assert applied == list(range(1, LATEST + 1))
    assert await applied_versions(unmigrated) == applied
    assert unmigrated.ready


async def test_migrating_an_up_to_date_database_applies_nothing(unmigrated: Database) -> None:
    await migrate(unmigrated)

    assert await migrate(unmigrated) == []


async def test_a_database_at_version_1_upgrades_to_the_latest_and_keeps_its_rows(
    dsn: str, tmp_path: Path, clock: FakeClock
) -> None:
    # The previous release: schema version 1, with a tenant and an interaction
    # written by its SQL.
    old = open_database(dsn, tmp_path)
    await old.open()
    assert await migrate(old, target=1) == [1]
    async with old.migration_transaction() as conn:
        await conn.execute(
            "INSERT INTO tenants (tenant_id, display_name, create_time_us) VALUES ($1, $2, $3)",
            "acme",
            "Acme",
            clock.now,
        )
        await conn.execute(
            "INSERT INTO interactions (tenant_id, interaction_id, request_id, task,"
            " requested_model, request_json, response_text, finish_reason, answer_source,"
            " provider, model, degraded, degraded_reason, attempts, input_tokens,"
            " output_tokens, cost_micros, currency, status_code, start_time_us, latency_ms,"
            " record_time_us) VALUES ($1, $2, '', 'chat', '', '', 'hi', 1, 1, 'sim-a',"
            " 'sim-small', $3, '', 1, 3, 4, 5, 'USD', 0, $4, 10, $4)",
            "acme",
            "int-1",
            False,
            clock.now,
        )
    await old.close()

    new = open_database(dsn, tmp_path)
    await new.open()
    try:
        assert await migrate(new) == list(range(2, LATEST + 1))
        assert (await Tenants(new, clock).get("acme")).display_name == "Acme"
        usage = await Interactions(new, clock).usage("acme", None, None)
        assert (usage.request_count, usage.input_tokens, usage.cost_micros) == (1, 3, 5)
        cache = ResponseCache(new, clock)  # a table version 2 added
        await cache.put("acme", "k", b"v", ttl_us=1_000_000, stale_ttl_us=0)
        assert (await cache.get("acme", "k", allow_stale=False)).found
    finally:
        await new.close()


async def test_two_replicas_starting_at_once_apply_each_migration_exactly_once(
    dsn: str, tmp_path: Path
) -> None:
    replicas = [open_database(dsn, tmp_path) for _ in range(2)]
    for db in replicas:
        await db.open()
    try:
        applied = await asyncio.gather(*(migrate(db) for db in replicas))

        assert sorted(applied[0] + applied[1]) == list(range(1, LATEST + 1))
        assert await applied_versions(replicas[0]) == list(range(1, LATEST + 1))
        assert all(db.ready for db in replicas)
    finally:
        for db in replicas:
            await db.close()
