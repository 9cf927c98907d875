"""keel.storage.v1.TenantStoreService: tenants, quotas and hashed API keys."""

from __future__ import annotations

import grpc
from keel.storage.v1 import tenant_store_pb2 as pb
from keel.storage.v1 import tenant_store_pb2_grpc
from keel.v1 import admin_pb2

from services.storage import validation
from services.storage.tables.api_keys import ApiKeys
from services.storage.tables.tenants import Tenants


def _quota(quota: admin_pb2.Quota, field: str) -> admin_pb2.Quota:
    for name in (
        "requests_per_minute",
        "tokens_per_minute",
        "max_concurrent_requests",
        "daily_spend_limit_micros",
    ):
        validation.not_negative(getattr(quota, name), f"{field}.{name}")
    return quota


class TenantStoreServicer(tenant_store_pb2_grpc.TenantStoreServiceServicer):
    def __init__(self, tenants: Tenants, api_keys: ApiKeys) -> None:
        self.tenants = tenants
        self.api_keys = api_keys

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        t = request.tenant
        tenant = await self.tenants.create(
            validation.new_tenant_id(t.tenant_id),
            validation.text(t.display_name, "tenant.display_name", max_length=200),
            _quota(t.quota, "tenant.quota"),
        )
        return pb.CreateTenantResponse(tenant=tenant)

    async def GetTenant(
        self, request: pb.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTenantResponse:
        tenant = await self.tenants.get(validation.tenant_id(request.tenant_id))
        return pb.GetTenantResponse(tenant=tenant)

    async def ListTenants(
        self, request: pb.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTenantsResponse:
        tenants, token = await self.tenants.list(request.page_size, request.page_token)
        return pb.ListTenantsResponse(tenants=tenants, next_page_token=token)

    async def UpdateTenantQuota(
        self, request: pb.UpdateTenantQuotaRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateTenantQuotaResponse:
        tenant = await self.tenants.update_quota(
            validation.tenant_id(request.tenant_id), _quota(request.quota, "quota")
        )
        return pb.UpdateTenantQuotaResponse(tenant=tenant)

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        key = await self.api_keys.create(
            validation.tenant_id(request.tenant_id),
            validation.text(request.display_name, "display_name", max_length=200),
            validation.text(request.key_prefix, "key_prefix", max_length=16),
            validation.key_hash(request.key_hash),
        )
        return pb.CreateApiKeyResponse(api_key=key)

    async def ResolveApiKey(
        self, request: pb.ResolveApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveApiKeyResponse:
        key, tenant = await self.api_keys.resolve(validation.key_hash(request.key_hash))
        return pb.ResolveApiKeyResponse(api_key=key, tenant=tenant)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        keys, token = await self.api_keys.list(
            validation.tenant_id(request.tenant_id), request.page_size, request.page_token
        )
        return pb.ListApiKeysResponse(api_keys=keys, next_page_token=token)

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeApiKeyResponse:
        key = await self.api_keys.revoke(
            validation.tenant_id(request.tenant_id),
            validation.identifier(request.key_id, "key_id"),
        )
        return pb.RevokeApiKeyResponse(api_key=key)
