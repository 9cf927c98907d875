"""The admin surface makes tenants and keys; keys work at once and only for their tenant."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import grpc
import pytest
from keel.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    code_completion_pb2,
    code_completion_pb2_grpc,
    generation_pb2,
    recommendation_pb2,
    recommendation_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
)

from tests.e2e.suite import Suite


def admin(suite: Suite) -> admin_pb2_grpc.AdminServiceStub:
    return admin_pb2_grpc.AdminServiceStub(suite.channel())


def new_tenant_id() -> str:
    return "t-" + uuid.uuid4().hex[:10]


def test_created_key_authenticates_its_tenant(suite: Suite) -> None:
    tenant_id = new_tenant_id()
    created = admin(suite).CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id, display_name="Acme"),
        metadata=suite.auth(suite.admin_token),
        timeout=10,
    )
    assert created.tenant.tenant_id == tenant_id and created.tenant.display_name == "Acme"
    key = admin(suite).CreateApiKey(
        admin_pb2.CreateApiKeyRequest(tenant_id=tenant_id, display_name="ci"),
        metadata=suite.auth(suite.admin_token),
        timeout=10,
    )
    assert key.secret.startswith("keel_") and key.api_key.key_prefix == key.secret[:12]
    reply = chat_pb2_grpc.ChatServiceStub(suite.channel()).Generate(
        chat_pb2.GenerateRequest(messages=[generation_pb2.Message(role="user", content="hi")]),
        metadata=suite.auth(key.secret),
        timeout=10,
    )
    assert reply.text
    listed = admin(suite).ListApiKeys(
        admin_pb2.ListApiKeysRequest(tenant_id=tenant_id),
        metadata=suite.auth(suite.admin_token),
        timeout=10,
    )
    assert [k.key_id for k in listed.api_keys] == [key.api_key.key_id]
    assert key.secret not in str(listed)


def test_usage_counts_the_calling_tenants_requests_only(suite: Suite) -> None:
    tenant_id = new_tenant_id()
    token = suite.auth(suite.admin_token)
    admin(suite).CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=token, timeout=10
    )
    secret = (
        admin(suite)
        .CreateApiKey(
            admin_pb2.CreateApiKeyRequest(tenant_id=tenant_id), metadata=token, timeout=10
        )
        .secret
    )
    chat = chat_pb2_grpc.ChatServiceStub(suite.channel())
    answers = [
        chat.Generate(
            chat_pb2.GenerateRequest(
                messages=[generation_pb2.Message(role="user", content=f"q{i}")]
            ),
            metadata=suite.auth(secret),
            timeout=10,
        )
        for i in range(3)
    ]
    usage_stub = usage_pb2_grpc.UsageServiceStub(suite.channel())
    deadline = time.monotonic() + 5
    while True:  # records reach storage through the outbox, in the background
        usage = usage_stub.GetUsage(
            usage_pb2.GetUsageRequest(), metadata=suite.auth(secret), timeout=10
        )
        if usage.request_count >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert usage.tenant_id == tenant_id
    assert usage.request_count == 3
    assert usage.output_tokens == sum(a.usage.output_tokens for a in answers)
    assert usage.cost_micros == sum(a.usage.cost_micros for a in answers)


def test_a_tenant_key_cannot_administer(suite: Suite) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        admin(suite).ListTenants(admin_pb2.ListTenantsRequest(), metadata=suite.auth(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_creating_a_tenant_twice_is_already_exists(suite: Suite) -> None:
    tenant_id = new_tenant_id()
    token = suite.auth(suite.admin_token)
    admin(suite).CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=token, timeout=10
    )
    with pytest.raises(grpc.RpcError) as caught:
        admin(suite).CreateTenant(
            admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=token, timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_bad_tenant_id_is_invalid_argument(suite: Suite) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        admin(suite).CreateTenant(
            admin_pb2.CreateTenantRequest(tenant_id="Not Valid!"),
            metadata=suite.auth(suite.admin_token),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_revoked_key_stops_working(suite: Suite) -> None:
    tenant_id = new_tenant_id()
    token = suite.auth(suite.admin_token)
    admin(suite).CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=token, timeout=10
    )
    key = admin(suite).CreateApiKey(
        admin_pb2.CreateApiKeyRequest(tenant_id=tenant_id), metadata=token, timeout=10
    )
    usage_stub = usage_pb2_grpc.UsageServiceStub(suite.channel())
    usage_stub.GetUsage(usage_pb2.GetUsageRequest(), metadata=suite.auth(key.secret), timeout=10)
    admin(suite).RevokeApiKey(
        admin_pb2.RevokeApiKeyRequest(tenant_id=tenant_id, key_id=key.api_key.key_id),
        metadata=token,
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as caught:
        usage_stub.GetUsage(
            usage_pb2.GetUsageRequest(), metadata=suite.auth(key.secret), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def recommend(suite: Suite, metadata: tuple[tuple[str, str], ...]) -> object:
    stub = recommendation_pb2_grpc.RecommendationServiceStub(suite.channel())
    return stub.Recommend(
        recommendation_pb2.RecommendRequest(user_id="u"), metadata=metadata, timeout=5
    )


def complete_code(suite: Suite, metadata: tuple[tuple[str, str], ...]) -> object:
    stub = code_completion_pb2_grpc.CodeCompletionServiceStub(suite.channel())
    return stub.CompleteCode(
        code_completion_pb2.CompleteCodeRequest(prefix="def"), metadata=metadata, timeout=5
    )


@pytest.mark.parametrize("invoke", [recommend, complete_code])
def test_declared_tasks_answer_unimplemented_after_authentication(
    suite: Suite, invoke: Callable[[Suite, tuple[tuple[str, str], ...]], object]
) -> None:
    with pytest.raises(grpc.RpcError) as unauthenticated:
        invoke(suite, ())
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as caught:
        invoke(suite, suite.auth())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
