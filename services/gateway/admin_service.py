"""keel.v1.AdminService: tenants, API keys and quotas, for the operator.

Calls carry the operator's admin token, not a tenant key. Key secrets are
made here, returned once, and only their hash is sent to storage.
"""

from __future__ import annotations

import re

import grpc
from keel.storage.v1 import tenant_store_pb2, tenant_store_pb2_grpc
from keel.v1 import admin_pb2, admin_pb2_grpc

from services.core.errors import PermissionDenied, Unauthenticated
from services.gateway import admin_token
from services.gateway.api_keys import ApiKeyResolver, bearer_token, key_hash, new_secret
from services.gateway.validation import Violations

TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_PAGE_SIZE = 1000
DISPLAY_PREFIX_CHARS = 12


class AdminService(admin_pb2_grpc.AdminServiceServicer):
    def __init__(
        self,
        token: str,
        tenants: tenant_store_pb2_grpc.TenantStoreServiceStub,
        keys: ApiKeyResolver,
    ) -> None:
        self.token = token
        self.tenants = tenants
        self.keys = keys

    def _authorise(self, context: grpc.aio.ServicerContext) -> None:
        try:
            presented = bearer_token(context)
        except Unauthenticated:
            raise Unauthenticated(
                "missing admin token: send metadata `authorization: Bearer <admin token>`",
                reason="ADMIN_TOKEN_MISSING",
            ) from None
        if not admin_token.matches(self.token, presented):
            raise PermissionDenied("this credential may not administer tenants", reason="NOT_ADMIN")

    async def CreateTenant(
        self, request: admin_pb2.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.CreateTenantResponse:
        self._authorise(context)
        violations = Violations()
        _check_tenant_id(request.tenant_id, violations)
        _check_quota(request.quota, "quota", violations)
        if len(request.display_name) > 200:
            violations.add("display_name", "at most 200 characters")
        violations.raise_if_any()
        reply = await self.tenants.CreateTenant(
            tenant_store_pb2.CreateTenantRequest(
                tenant=admin_pb2.Tenant(
                    tenant_id=request.tenant_id,
                    display_name=request.display_name or request.tenant_id,
                    quota=request.quota,
                )
            )
        )
        return admin_pb2.CreateTenantResponse(tenant=reply.tenant)

    async def GetTenant(
        self, request: admin_pb2.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.GetTenantResponse:
        self._authorise(context)
        _require_tenant_id(request.tenant_id)
        reply = await self.tenants.GetTenant(
            tenant_store_pb2.GetTenantRequest(tenant_id=request.tenant_id)
        )
        return admin_pb2.GetTenantResponse(tenant=reply.tenant)

    async def ListTenants(
        self, request: admin_pb2.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListTenantsResponse:
        self._authorise(context)
        _require_page_size(request.page_size)
        reply = await self.tenants.ListTenants(
            tenant_store_pb2.ListTenantsRequest(
                page_size=request.page_size, page_token=request.page_token
            )
        )
        return admin_pb2.ListTenantsResponse(
            tenants=reply.tenants, next_page_token=reply.next_page_token
        )

    async def UpdateTenantQuota(
        self, request: admin_pb2.UpdateTenantQuotaRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.UpdateTenantQuotaResponse:
        self._authorise(context)
        violations = Violations()
        _check_tenant_id(request.tenant_id, violations)
        _check_quota(request.quota, "quota", violations)
        violations.raise_if_any()
        reply = await self.tenants.UpdateTenantQuota(
            tenant_store_pb2.UpdateTenantQuotaRequest(
                tenant_id=request.tenant_id, quota=request.quota
            )
        )
        return admin_pb2.UpdateTenantQuotaResponse(tenant=reply.tenant)

    async def CreateApiKey(
        self, request: admin_pb2.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.CreateApiKeyResponse:
        self._authorise(context)
        _require_tenant_id(request.tenant_id)
        secret = new_secret()
        reply = await self.tenants.CreateApiKey(
            tenant_store_pb2.CreateApiKeyRequest(
                tenant_id=request.tenant_id,
                display_name=request.display_name,
                key_hash=key_hash(secret),
                key_prefix=secret[:DISPLAY_PREFIX_CHARS],
            )
        )
        return admin_pb2.CreateApiKeyResponse(api_key=reply.api_key, secret=secret)

    async def ListApiKeys(
        self, request: admin_pb2.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListApiKeysResponse:
        self._authorise(context)
        _require_tenant_id(request.tenant_id)
        _require_page_size(request.page_size)
        reply = await self.tenants.ListApiKeys(
            tenant_store_pb2.ListApiKeysRequest(
                tenant_id=request.tenant_id,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        )
        return admin_pb2.ListApiKeysResponse(
            api_keys=reply.api_keys, next_page_token=reply.next_page_token
        )

    async def RevokeApiKey(
        self, request: admin_pb2.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RevokeApiKeyResponse:
        self._authorise(context)
        _require_tenant_id(request.tenant_id)
        reply = await self.tenants.RevokeApiKey(
            tenant_store_pb2.RevokeApiKeyRequest(tenant_id=request.tenant_id, key_id=request.key_id)
        )
        self.keys.forget(reply.api_key.key_id)
        return admin_pb2.RevokeApiKeyResponse(api_key=reply.api_key)


def _check_tenant_id(tenant_id: str, violations: Violations) -> None:
    if not TENANT_ID.match(tenant_id):
        violations.add(
            "tenant_id",
            "1..63 characters of a-z, 0-9 and '-', starting with a letter",
        )


def _require_tenant_id(tenant_id: str) -> None:
    violations = Violations()
    _check_tenant_id(tenant_id, violations)
    violations.raise_if_any()


def _require_page_size(page_size: int) -> None:
    violations = Violations()
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        violations.add("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
    violations.raise_if_any()


def _check_quota(quota: admin_pb2.Quota, field: str, violations: Violations) -> None:
    for name in (
        "requests_per_minute",
        "tokens_per_minute",
        "max_concurrent_requests",
        "daily_spend_limit_micros",
    ):
        if getattr(quota, name) < 0:
            violations.add(f"{field}.{name}", "must not be negative (0 means unlimited)")
