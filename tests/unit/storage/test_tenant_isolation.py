"""No RPC returns another tenant's rows, whatever ids the caller sends.

Two tenants, acme and globex, each with keys, interactions, cache entries
and events; globex's calls carry ids (key ids, interaction ids, cache keys,
event ids, user ids, page tokens) copied or forged from acme's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import duration_pb2
from keel.storage.v1 import (
    catalogue_pb2,
    catalogue_pb2_grpc,
    ledger_pb2,
    ledger_pb2_grpc,
    response_cache_pb2,
    response_cache_pb2_grpc,
    tenant_store_pb2,
    tenant_store_pb2_grpc,
)
from keel.v1 import admin_pb2, generation_pb2

from services.storage import page_tokens
from tests.unit.storage.conftest import RunningStorage


@dataclass
class Stubs:
    tenants: tenant_store_pb2_grpc.TenantStoreServiceStub
    ledger: ledger_pb2_grpc.LedgerServiceStub
    cache: response_cache_pb2_grpc.ResponseCacheServiceStub
    catalogue: catalogue_pb2_grpc.CatalogueServiceStub
    acme_key_id: str


def interaction(tenant: str, iid: str, tokens: int) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(
            tenant_id=tenant,
            interaction_id=iid,
            response_text=f"{tenant}'s secret answer",
            usage=generation_pb2.Usage(input_tokens=tokens),
        )
    )


@pytest.fixture
async def two_tenants(storage: RunningStorage) -> AsyncIterator[Stubs]:
    ch = storage.channel
    stubs = Stubs(
        tenant_store_pb2_grpc.TenantStoreServiceStub(ch),
        ledger_pb2_grpc.LedgerServiceStub(ch),
        response_cache_pb2_grpc.ResponseCacheServiceStub(ch),
        catalogue_pb2_grpc.CatalogueServiceStub(ch),
        "",
    )
    for tenant in ("acme", "globex"):
        await stubs.tenants.CreateTenant(
            tenant_store_pb2.CreateTenantRequest(tenant=admin_pb2.Tenant(tenant_id=tenant))
        )
    key = await stubs.tenants.CreateApiKey(
        tenant_store_pb2.CreateApiKeyRequest(tenant_id="acme", key_hash="a" * 64)
    )
    stubs.acme_key_id = key.api_key.key_id
    for n in range(3):
        await stubs.ledger.RecordInteraction(interaction("acme", f"int-{n}", 100))
    await stubs.cache.PutCachedResponse(
        response_cache_pb2.PutCachedResponseRequest(
            tenant_id="acme",
            cache_key="prompt-hash",
            value=b"acme's cached answer",
            ttl=duration_pb2.Duration(seconds=60),
        )
    )
    await stubs.catalogue.RecordItemEvents(
        catalogue_pb2.RecordItemEventsRequest(
            tenant_id="acme",
            events=[
                catalogue_pb2.ItemEvent(event_id="e1", user_id="u1", item_id="m1", kind="play")
            ],
        )
    )
    yield stubs


async def test_a_tenant_cannot_revoke_another_tenants_key_by_its_id(two_tenants: Stubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await two_tenants.tenants.RevokeApiKey(
            tenant_store_pb2.RevokeApiKeyRequest(tenant_id="globex", key_id=two_tenants.acme_key_id)
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    still = await two_tenants.tenants.ResolveApiKey(
        tenant_store_pb2.ResolveApiKeyRequest(key_hash="a" * 64)
    )
    assert not still.api_key.HasField("revoke_time")


async def test_a_tenants_key_list_never_shows_another_tenants_keys(two_tenants: Stubs) -> None:
    reply = await two_tenants.tenants.ListApiKeys(
        tenant_store_pb2.ListApiKeysRequest(tenant_id="globex")
    )

    assert list(reply.api_keys) == []


async def test_an_interaction_id_taken_by_another_tenant_is_a_separate_interaction(
    two_tenants: Stubs,
) -> None:
    reply = await two_tenants.ledger.RecordInteraction(interaction("globex", "int-0", 1))

    globex = await two_tenants.ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="globex"))
    acme = await two_tenants.ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="acme"))
    assert reply.created
    assert (globex.request_count, globex.input_tokens) == (1, 1)
    assert (acme.request_count, acme.input_tokens) == (3, 300)


async def test_a_tenants_interaction_list_holds_only_its_own(two_tenants: Stubs) -> None:
    await two_tenants.ledger.RecordInteraction(interaction("globex", "int-0", 1))

    reply = await two_tenants.ledger.ListInteractions(
        ledger_pb2.ListInteractionsRequest(tenant_id="globex")
    )

    assert [(i.tenant_id, i.response_text) for i in reply.interactions] == [
        ("globex", "globex's secret answer")
    ]


async def test_another_tenants_page_token_is_refused(two_tenants: Stubs) -> None:
    acme_page = await two_tenants.ledger.ListInteractions(
        ledger_pb2.ListInteractionsRequest(tenant_id="acme", page_size=1)
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await two_tenants.ledger.ListInteractions(
            ledger_pb2.ListInteractionsRequest(
                tenant_id="globex", page_token=acme_page.next_page_token
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_forged_page_token_pointing_into_another_tenants_rows_finds_none_of_them(
    two_tenants: Stubs,
) -> None:
    acme_page = await two_tenants.ledger.ListInteractions(
        ledger_pb2.ListInteractionsRequest(tenant_id="acme", page_size=1)
    )
    acme_key = json.loads(base64.urlsafe_b64decode(acme_page.next_page_token + "=="))["k"]
    forged = page_tokens.encode("interactions/globex", acme_key)

    reply = await two_tenants.ledger.ListInteractions(
        ledger_pb2.ListInteractionsRequest(tenant_id="globex", page_token=forged)
    )

    assert list(reply.interactions) == []


async def test_a_tenant_cannot_read_another_tenants_cache_entry_by_its_key(
    two_tenants: Stubs,
) -> None:
    reply = await two_tenants.cache.GetCachedResponse(
        response_cache_pb2.GetCachedResponseRequest(
            tenant_id="globex", cache_key="prompt-hash", allow_stale=True
        )
    )

    assert not reply.found and reply.value == b""


async def test_a_tenant_sees_no_events_of_another_tenants_user_or_items(
    two_tenants: Stubs,
) -> None:
    created = await two_tenants.catalogue.RecordItemEvents(
        catalogue_pb2.RecordItemEventsRequest(
            tenant_id="globex",
            events=[catalogue_pb2.ItemEvent(event_id="e1", user_id="u9", item_id="m9", kind="x")],
        )
    )
    events = await two_tenants.catalogue.ListItemEvents(
        catalogue_pb2.ListItemEventsRequest(tenant_id="globex", user_id="u1")
    )
    popular = await two_tenants.catalogue.ListPopularItems(
        catalogue_pb2.ListPopularItemsRequest(tenant_id="globex")
    )

    assert created.created_count == 1  # acme's event id does not block globex's
    assert list(events.events) == []
    assert [p.item.item_id for p in popular.items] == ["m9"]
