"""The backend contract: every behaviour of storage's tables, on SQLite and on PostgreSQL.

Each test runs once per backend against a fresh, migrated database.
"""

from __future__ import annotations

import pytest
from keel.storage.v1 import catalogue_pb2, ledger_pb2
from keel.v1 import admin_pb2, generation_pb2

from services.core.errors import AlreadyExists, InvalidArgument, NotFound
from services.storage.backends.base import Database, DatabaseUnavailable
from services.storage.tables.api_keys import ApiKeys
from services.storage.tables.catalogue import Catalogue
from services.storage.tables.interactions import Interactions
from services.storage.tables.response_cache import ResponseCache
from services.storage.tables.tenants import Tenants
from services.storage.times import DAY_US, to_timestamp
from tests.unit.storage.conftest import FakeClock

HOUR_US = 3600 * 1_000_000


def hash_of(n: int) -> str:
    return f"{n:064x}"


def interaction(tenant: str, iid: str, start_us: int, **usage: int) -> ledger_pb2.Interaction:
    return ledger_pb2.Interaction(
        tenant_id=tenant,
        interaction_id=iid,
        start_time=to_timestamp(start_us),
        usage=generation_pb2.Usage(
            input_tokens=usage.get("input_tokens", 10),
            output_tokens=usage.get("output_tokens", 20),
            cost_micros=usage.get("cost_micros", 300),
            currency="USD",
        ),
    )


async def make_tenants(db: Database, clock: FakeClock, *ids: str) -> Tenants:
    tenants = Tenants(db, clock)
    for tenant_id in ids:
        await tenants.create(tenant_id, "", admin_pb2.Quota())
    return tenants


# --- tenants ---------------------------------------------------------------


async def test_a_created_tenant_is_returned_with_its_name_quota_and_create_time(
    database: Database, clock: FakeClock
) -> None:
    tenants = Tenants(database, clock)
    quota = admin_pb2.Quota(
        requests_per_minute=60,
        tokens_per_minute=10_000,
        max_concurrent_requests=4,
        daily_spend_limit_micros=5_000_000_000,
    )
    await tenants.create("acme", "Acme Corp", quota)

    got = await tenants.get("acme")

    assert got.display_name == "Acme Corp"
    assert got.quota == quota
    assert got.create_time == to_timestamp(clock.now)


async def test_a_tenant_without_a_display_name_is_named_by_its_id(
    database: Database, clock: FakeClock
) -> None:
    created = await Tenants(database, clock).create("acme", "", admin_pb2.Quota())

    assert created.display_name == "acme"


async def test_creating_a_taken_tenant_id_is_already_exists(
    database: Database, clock: FakeClock
) -> None:
    tenants = await make_tenants(database, clock, "acme")

    with pytest.raises(AlreadyExists):
        await tenants.create("acme", "Another", admin_pb2.Quota())


async def test_an_unknown_tenant_is_not_found(database: Database, clock: FakeClock) -> None:
    with pytest.raises(NotFound):
        await Tenants(database, clock).get("nobody")


async def test_tenants_list_by_id_a_page_at_a_time(database: Database, clock: FakeClock) -> None:
    tenants = await make_tenants(database, clock, "delta", "alpha", "echo", "charlie", "bravo")

    pages, token = [], ""
    while True:
        page, token = await tenants.list(2, token)
        pages.append([t.tenant_id for t in page])
        if not token:
            break

    assert pages == [["alpha", "bravo"], ["charlie", "delta"], ["echo"]]


async def test_updating_a_quota_replaces_the_whole_quota(
    database: Database, clock: FakeClock
) -> None:
    tenants = Tenants(database, clock)
    await tenants.create("acme", "", admin_pb2.Quota(requests_per_minute=60, tokens_per_minute=9))

    updated = await tenants.update_quota("acme", admin_pb2.Quota(requests_per_minute=120))

    assert updated.quota == admin_pb2.Quota(requests_per_minute=120)
    assert (await tenants.get("acme")).quota == admin_pb2.Quota(requests_per_minute=120)


async def test_updating_the_quota_of_an_unknown_tenant_is_not_found(
    database: Database, clock: FakeClock
) -> None:
    with pytest.raises(NotFound):
        await Tenants(database, clock).update_quota("nobody", admin_pb2.Quota())


# --- API keys ----------------------------------------------------------------


async def test_a_key_resolves_by_its_hash_to_the_key_and_its_tenant(
    database: Database, clock: FakeClock
) -> None:
    await make_tenants(database, clock, "acme")
    keys = ApiKeys(database, clock)
    created = await keys.create("acme", "laptop", "kl_1234", hash_of(1))

    key, tenant = await keys.resolve(hash_of(1))

    assert key == created
    assert (key.tenant_id, key.display_name, key.key_prefix) == ("acme", "laptop", "kl_1234")
    assert tenant.tenant_id == "acme"
    assert not key.HasField("revoke_time")


async def test_an_unknown_hash_does_not_resolve(database: Database, clock: FakeClock) -> None:
    with pytest.raises(NotFound):
        await ApiKeys(database, clock).resolve(hash_of(404))


async def test_a_key_for_an_unknown_tenant_is_not_found(
    database: Database, clock: FakeClock
) -> None:
    with pytest.raises(NotFound):
        await ApiKeys(database, clock).create("nobody", "", "kl_", hash_of(1))


async def test_a_second_key_with_the_same_hash_is_already_exists(
    database: Database, clock: FakeClock
) -> None:
    await make_tenants(database, clock, "acme", "globex")
    keys = ApiKeys(database, clock)
    await keys.create("acme", "", "kl_", hash_of(1))

    with pytest.raises(AlreadyExists):
        await keys.create("globex", "", "kl_", hash_of(1))


async def test_a_revoked_key_no_longer_resolves_and_lists_with_its_revoke_time(
    database: Database, clock: FakeClock
) -> None:
    await make_tenants(database, clock, "acme")
    keys = ApiKeys(database, clock)
    key = await keys.create("acme", "", "kl_", hash_of(1))
    clock.advance(60)

    revoked = await keys.revoke("acme", key.key_id)

    assert revoked.revoke_time == to_timestamp(clock.now)
    with pytest.raises(NotFound):
        await keys.resolve(hash_of(1))
    listed, _ = await keys.list("acme", 0, "")
    assert listed == [revoked]


async def test_revoking_a_key_again_keeps_its_first_revoke_time(
    database: Database, clock: FakeClock
) -> None:
    await make_tenants(database, clock, "acme")
    keys = ApiKeys(database, clock)
    key = await keys.create("acme", "", "kl_", hash_of(1))
    first = await keys.revoke("acme", key.key_id)
    clock.advance(60)

    again = await keys.revoke("acme", key.key_id)

    assert again.revoke_time == first.revoke_time


async def test_keys_list_newest_first_a_page_at_a_time(
    database: Database, clock: FakeClock
) -> None:
    await make_tenants(database, clock, "acme")
    keys = ApiKeys(database, clock)
    made = []
    for n in range(5):
        made.append(await keys.create("acme", f"key {n}", "kl_", hash_of(n)))
        clock.advance(1)

    pages, token = [], ""
    while True:
        page, token = await keys.list("acme", 2, token)
        pages.append([k.display_name for k in page])
        if not token:
            break

    assert pages == [["key 4", "key 3"], ["key 2", "key 1"], ["key 0"]]


# --- interactions and the usage ledger ---------------------------------------


async def test_a_recorded_interaction_keeps_every_field(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    item = ledger_pb2.Interaction(
        interaction_id="int-1",
        tenant_id="acme",
        request_id="req-1",
        task="chat",
        requested_model="sim-small",
        request_json='{"messages": [{"role": "user", "content": "hi"}]}',
        response_text="Hello! ✓",
        finish_reason=generation_pb2.FINISH_REASON_LENGTH,
        provenance=generation_pb2.Provenance(
            source=generation_pb2.ANSWER_SOURCE_MODEL,
            provider="sim-b",
            model="sim-small",
            degraded=True,
            degraded_reason="fallback provider",
            attempts=2,
        ),
        usage=generation_pb2.Usage(
            input_tokens=12, output_tokens=34, cost_micros=5678, currency="USD"
        ),
        status_code=0,
        start_time=to_timestamp(clock.now - 1500),
        latency_ms=1234,
    )

    assert await ledger.record([item]) == [True]

    listed, _ = await ledger.list("acme", 0, "")
    assert listed == [item]


async def test_an_interaction_without_a_start_time_counts_at_its_record_time(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    await ledger.record([ledger_pb2.Interaction(tenant_id="acme", interaction_id="i")])

    listed, _ = await ledger.list("acme", 0, "")

    assert listed[0].start_time == to_timestamp(clock.now)


async def test_a_replayed_interaction_is_not_created_again_and_counts_once(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    first = interaction("acme", "int-1", clock.now, input_tokens=5, output_tokens=7)

    assert await ledger.record([first]) == [True]
    assert await ledger.record([first, first]) == [False, False]

    usage = await ledger.usage("acme", None, None)
    assert (usage.request_count, usage.input_tokens, usage.output_tokens) == (1, 5, 7)


async def test_a_batch_stores_its_rows_and_reports_which_were_new(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    await ledger.record([interaction("acme", "old", clock.now)])

    created = await ledger.record(
        [
            interaction("acme", "new-1", clock.now),
            interaction("acme", "old", clock.now),
            interaction("acme", "new-2", clock.now),
            interaction("acme", "new-1", clock.now),
        ]
    )

    assert created == [True, False, True, False]
    assert (await ledger.usage("acme", None, None)).request_count == 3


async def test_a_batch_larger_than_one_statement_is_stored_whole(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    rows = [interaction("acme", f"i{n}", clock.now, input_tokens=1) for n in range(1234)]

    created = await ledger.record(rows)

    assert created == [True] * 1234
    assert (await ledger.usage("acme", None, None)).input_tokens == 1234


async def test_usage_sums_requests_tokens_and_cost_inside_the_period_only(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    start, end = clock.now, clock.now + HOUR_US
    await ledger.record(
        [
            interaction("acme", "before", start - 1, input_tokens=1000),
            interaction("acme", "first", start, input_tokens=1, output_tokens=2, cost_micros=3),
            interaction("acme", "last", end - 1, input_tokens=10, output_tokens=20, cost_micros=30),
            interaction("acme", "after", end, input_tokens=1000),
        ]
    )

    usage = await ledger.usage("acme", start, end)

    assert usage == ledger_pb2.GetUsageResponse(
        request_count=2, input_tokens=11, output_tokens=22, cost_micros=33
    )


async def test_usage_counts_large_costs_exactly(database: Database, clock: FakeClock) -> None:
    ledger = Interactions(database, clock)
    big = 4_000_000_000_000  # 4 million USD in micros: past 32 bits, summed as integers
    await ledger.record(
        [interaction("acme", f"i{n}", clock.now, cost_micros=big) for n in range(3)]
    )

    assert (await ledger.usage("acme", None, None)).cost_micros == 3 * big


async def test_usage_per_day_groups_interactions_by_utc_day(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    midnight = clock.now - clock.now % DAY_US
    await ledger.record(
        [
            interaction("acme", "d1-a", midnight + HOUR_US, input_tokens=1),
            interaction("acme", "d1-b", midnight + 23 * HOUR_US, input_tokens=2),
            interaction("acme", "d3", midnight + 2 * DAY_US, input_tokens=4),
        ]
    )

    usage = await ledger.usage("acme", None, None, include_days=True)

    assert [(d.day_start_time, d.request_count, d.input_tokens) for d in usage.days] == [
        (to_timestamp(midnight), 2, 3),
        (to_timestamp(midnight + 2 * DAY_US), 1, 4),
    ]


async def test_usage_of_a_tenant_without_interactions_is_zero(
    database: Database, clock: FakeClock
) -> None:
    usage = await Interactions(database, clock).usage("quiet", None, None, include_days=True)

    assert usage == ledger_pb2.GetUsageResponse()


async def test_interactions_list_newest_first_a_page_at_a_time(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    await ledger.record([interaction("acme", f"i{n}", clock.now + n) for n in range(5)])

    pages, token = [], ""
    while True:
        page, token = await ledger.list("acme", 2, token)
        pages.append([i.interaction_id for i in page])
        if not token:
            break

    assert pages == [["i4", "i3"], ["i2", "i1"], ["i0"]]


async def test_retention_deletes_every_tenants_interactions_started_before_the_cutoff_only(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    cutoff = clock.now
    await ledger.record(
        [
            interaction("acme", "old", cutoff - 1),
            interaction("globex", "old", cutoff - DAY_US),
            interaction("acme", "kept", cutoff),
        ]
    )

    deleted = await ledger.delete_started_before(cutoff, chunk=1)

    assert deleted == 2
    assert [i.interaction_id for i in (await ledger.list("acme", 0, ""))[0]] == ["kept"]
    assert (await ledger.list("globex", 0, ""))[0] == []


# --- response cache ----------------------------------------------------------


async def test_a_cached_response_is_found_until_its_ttl_ends(
    database: Database, clock: FakeClock
) -> None:
    cache = ResponseCache(database, clock)
    await cache.put("acme", "k1", b"answer", ttl_us=60_000_000, stale_ttl_us=0)

    clock.advance(59)
    hit = await cache.get("acme", "k1", allow_stale=False)
    clock.advance(1)
    expired = await cache.get("acme", "k1", allow_stale=False)

    assert (hit.found, hit.value, hit.stale) == (True, b"answer", False)
    assert hit.expire_time == to_timestamp(clock.now)
    assert not expired.found


async def test_a_stale_entry_is_served_only_to_callers_that_accept_stale_ones(
    database: Database, clock: FakeClock
) -> None:
    cache = ResponseCache(database, clock)
    await cache.put("acme", "k1", b"answer", ttl_us=60_000_000, stale_ttl_us=600_000_000)
    clock.advance(120)

    strict = await cache.get("acme", "k1", allow_stale=False)
    lenient = await cache.get("acme", "k1", allow_stale=True)
    clock.advance(600)
    too_old = await cache.get("acme", "k1", allow_stale=True)

    assert not strict.found
    assert (lenient.found, lenient.value, lenient.stale) == (True, b"answer", True)
    assert not too_old.found


async def test_putting_a_key_again_replaces_its_entry(database: Database, clock: FakeClock) -> None:
    cache = ResponseCache(database, clock)
    await cache.put("acme", "k1", b"first", ttl_us=1_000_000, stale_ttl_us=0)
    await cache.put("acme", "k1", b"second", ttl_us=60_000_000, stale_ttl_us=0)
    clock.advance(30)

    assert (await cache.get("acme", "k1", allow_stale=False)).value == b"second"


async def test_cache_entries_belong_to_their_tenant(database: Database, clock: FakeClock) -> None:
    cache = ResponseCache(database, clock)
    await cache.put("acme", "shared-key", b"acme's answer", ttl_us=60_000_000, stale_ttl_us=0)

    assert not (await cache.get("globex", "shared-key", allow_stale=True)).found


async def test_purge_deletes_only_entries_past_their_stale_ttl(
    database: Database, clock: FakeClock
) -> None:
    cache = ResponseCache(database, clock)
    await cache.put("acme", "gone", b"x", ttl_us=1_000_000, stale_ttl_us=1_000_000)
    await cache.put("globex", "gone", b"x", ttl_us=1_000_000, stale_ttl_us=0)
    await cache.put("acme", "stale", b"x", ttl_us=1_000_000, stale_ttl_us=60_000_000)
    await cache.put("acme", "fresh", b"x", ttl_us=60_000_000, stale_ttl_us=0)
    clock.advance(10)

    deleted = await cache.purge(chunk=1)

    assert deleted == 2
    assert (await cache.get("acme", "stale", allow_stale=True)).found
    assert (await cache.get("acme", "fresh", allow_stale=False)).found


# --- catalogue ---------------------------------------------------------------


def item(item_id: str, title: str, *tags: str) -> catalogue_pb2.CatalogueItem:
    return catalogue_pb2.CatalogueItem(item_id=item_id, title=title, tags=list(tags))


def event(event_id: str, user: str, item_id: str, at_us: int) -> catalogue_pb2.ItemEvent:
    return catalogue_pb2.ItemEvent(
        event_id=event_id,
        user_id=user,
        item_id=item_id,
        kind="play",
        event_time=to_timestamp(at_us),
    )


async def test_items_put_again_are_replaced_and_list_by_id_in_pages(
    database: Database, clock: FakeClock
) -> None:
    catalogue = Catalogue(database, clock)
    await catalogue.put_items(
        "acme", [item("m3", "Old title"), item("m1", "One"), item("m2", "Two")]
    )
    await catalogue.put_items("acme", [item("m3", "Three", "drama", "1990s")])

    first, token = await catalogue.list_items("acme", 2, "")
    second, last = await catalogue.list_items("acme", 2, token)

    assert [(i.item_id, i.title) for i in first] == [("m1", "One"), ("m2", "Two")]
    assert [(i.item_id, i.title, list(i.tags)) for i in second] == [
        ("m3", "Three", ["drama", "1990s"])
    ]
    assert last == ""


async def test_a_replayed_event_is_stored_once(database: Database, clock: FakeClock) -> None:
    catalogue = Catalogue(database, clock)
    e = event("e1", "u1", "m1", clock.now)

    assert await catalogue.record_events("acme", [e]) == 1
    assert await catalogue.record_events("acme", [e, event("e2", "u1", "m1", clock.now)]) == 1

    events, _ = await catalogue.list_events("acme", "u1", 0, "")
    assert sorted(x.event_id for x in events) == ["e1", "e2"]


async def test_a_users_events_list_newest_first_in_pages(
    database: Database, clock: FakeClock
) -> None:
    catalogue = Catalogue(database, clock)
    await catalogue.record_events(
        "acme",
        [event(f"e{n}", "u1", "m1", clock.now + n) for n in range(3)]
        + [event("other", "u2", "m1", clock.now + 10)],
    )

    first, token = await catalogue.list_events("acme", "u1", 2, "")
    second, last = await catalogue.list_events("acme", "u1", 2, token)

    assert [e.event_id for e in first + second] == ["e2", "e1", "e0"]
    assert last == ""


async def test_popular_items_rank_by_events_since_a_time_with_their_titles(
    database: Database, clock: FakeClock
) -> None:
    catalogue = Catalogue(database, clock)
    since = clock.now
    await catalogue.put_items("acme", [item("m1", "One"), item("m2", "Two")])
    await catalogue.record_events(
        "acme",
        [
            event("a", "u1", "m2", since),
            event("b", "u2", "m2", since + 1),
            event("c", "u1", "m1", since + 2),
            event("d", "u3", "unlisted", since + 3),
            event("old", "u1", "m1", since - 1),
            event("old2", "u2", "m1", since - 2),
        ],
    )
    await catalogue.record_events("globex", [event("x", "u1", "m1", since)])

    popular = await catalogue.popular("acme", since, 10)

    assert [(p.item.item_id, p.item.title, p.event_count) for p in popular] == [
        ("m2", "Two", 2),
        ("m1", "One", 1),
        ("unlisted", "", 1),
    ]


# --- page tokens and transactions ---------------------------------------------


async def test_a_page_token_from_another_tenants_list_is_invalid_argument(
    database: Database, clock: FakeClock
) -> None:
    ledger = Interactions(database, clock)
    await ledger.record([interaction("acme", f"i{n}", clock.now + n) for n in range(3)])
    _, acme_token = await ledger.list("acme", 1, "")

    with pytest.raises(InvalidArgument):
        await ledger.list("globex", 1, acme_token)


async def test_a_failed_transaction_leaves_nothing_behind(
    database: Database, clock: FakeClock
) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO tenants (tenant_id, display_name, create_time_us) VALUES ($1, $2, $3)",
                "ghost",
                "Ghost",
                clock.now,
            )
            raise RuntimeError("the caller failed half-way")

    with pytest.raises(NotFound):
        await Tenants(database, clock).get("ghost")


async def test_a_database_that_is_not_migrated_refuses_queries_as_unavailable(
    unmigrated: Database, clock: FakeClock
) -> None:
    with pytest.raises(DatabaseUnavailable):
        await Tenants(unmigrated, clock).get("acme")
