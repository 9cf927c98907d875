"""Storage over gRPC: idempotent writes, errors with details, health per service."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keel.storage.v1 import (
    ledger_pb2,
    ledger_pb2_grpc,
    response_cache_pb2,
    response_cache_pb2_grpc,
    tenant_store_pb2,
    tenant_store_pb2_grpc,
)
from keel.v1 import admin_pb2, generation_pb2

from services.core.errors import details_of, status_proto_from_rpc_error
from tests.unit.storage.conftest import RunningStorage

STORAGE_SERVICES = [
    "keel.storage.v1.TenantStoreService",
    "keel.storage.v1.LedgerService",
    "keel.storage.v1.ResponseCacheService",
    "keel.storage.v1.CatalogueService",
]


def details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    return details_of(status_proto_from_rpc_error(error))


def record_request(interaction_id: str, tokens: int = 10) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(
            tenant_id="acme",
            interaction_id=interaction_id,
            usage=generation_pb2.Usage(input_tokens=tokens, output_tokens=tokens, cost_micros=7),
        )
    )


async def test_a_replayed_write_with_the_same_idempotency_key_is_counted_once(
    storage: RunningStorage,
) -> None:
    ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)

    first = await ledger.RecordInteraction(record_request("int-1", tokens=10))
    replays = [await ledger.RecordInteraction(record_request("int-1", tokens=10)) for _ in range(2)]
    concurrent = await asyncio.gather(
        *(ledger.RecordInteraction(record_request("int-1", tokens=10)) for _ in range(5))
    )
    usage = await ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="acme"))

    assert first.created
    assert not any(r.created for r in replays + list(concurrent))
    assert (usage.request_count, usage.input_tokens, usage.cost_micros) == (1, 10, 7)


async def test_concurrent_distinct_writes_are_each_created_once(storage: RunningStorage) -> None:
    ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)

    replies = await asyncio.gather(
        *(ledger.RecordInteraction(record_request(f"int-{n}")) for n in range(200))
    )
    usage = await ledger.GetUsage(ledger_pb2.GetUsageRequest(tenant_id="acme"))

    assert all(r.created for r in replies)
    assert usage.request_count == 200


async def test_a_bad_request_is_invalid_argument_naming_the_field(
    storage: RunningStorage,
) -> None:
    tenants = tenant_store_pb2_grpc.TenantStoreServiceStub(storage.channel)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await tenants.CreateApiKey(
            tenant_store_pb2.CreateApiKeyRequest(tenant_id="acme", key_hash="not-a-sha256")
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = details(raised.value)["BadRequest"]
    assert isinstance(bad_request, error_details_pb2.BadRequest)
    assert [v.field for v in bad_request.field_violations] == ["key_hash"]


async def test_a_write_without_an_idempotency_key_is_invalid_argument(
    storage: RunningStorage,
) -> None:
    ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ledger.RecordInteraction(record_request(""))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = details(raised.value)["BadRequest"]
    assert isinstance(bad_request, error_details_pb2.BadRequest)
    assert bad_request.field_violations[0].field == "interaction.interaction_id"


async def test_a_taken_tenant_id_is_already_exists_with_its_reason(
    storage: RunningStorage,
) -> None:
    tenants = tenant_store_pb2_grpc.TenantStoreServiceStub(storage.channel)
    request = tenant_store_pb2.CreateTenantRequest(tenant=admin_pb2.Tenant(tenant_id="acme"))
    await tenants.CreateTenant(request)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await tenants.CreateTenant(request)

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = details(raised.value)["ErrorInfo"]
    assert isinstance(info, error_details_pb2.ErrorInfo) and info.reason == "TENANT_EXISTS"


async def test_an_unknown_key_hash_is_not_found(storage: RunningStorage) -> None:
    tenants = tenant_store_pb2_grpc.TenantStoreServiceStub(storage.channel)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await tenants.ResolveApiKey(tenant_store_pb2.ResolveApiKeyRequest(key_hash="0" * 64))

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_cache_miss_is_an_answer_not_an_error(storage: RunningStorage) -> None:
    cache = response_cache_pb2_grpc.ResponseCacheServiceStub(storage.channel)

    reply = await cache.GetCachedResponse(
        response_cache_pb2.GetCachedResponseRequest(tenant_id="acme", cache_key="nothing")
    )

    assert not reply.found


async def test_health_is_serving_for_the_server_and_each_storage_service(
    storage: RunningStorage,
) -> None:
    health = health_pb2_grpc.HealthStub(storage.channel)

    statuses = [
        (await health.Check(health_pb2.HealthCheckRequest(service=name))).status
        for name in ["", *STORAGE_SERVICES]
    ]

    assert statuses == [health_pb2.HealthCheckResponse.SERVING] * 5


async def test_usage_for_an_empty_period_is_zero_and_a_reversed_one_is_invalid(
    storage: RunningStorage,
) -> None:
    ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)
    await ledger.RecordInteraction(record_request("int-1"))
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    earlier = timestamp_pb2.Timestamp(seconds=now.seconds - 60)

    empty = await ledger.GetUsage(
        ledger_pb2.GetUsageRequest(tenant_id="acme", start_time=now, end_time=now)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ledger.GetUsage(
            ledger_pb2.GetUsageRequest(tenant_id="acme", start_time=now, end_time=earlier)
        )

    assert empty.request_count == 0
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
