"""API keys: how a call's bearer key becomes a tenant.

Keys are looked up in storage by their SHA-256 (keys are 256-bit random
secrets, so a fast hash is enough; a slow password hash would only add
latency). Resolved keys are cached for key_cache_ttl_s; while storage is
unreachable, keys already known keep working from the cache, so storage
down does not stop serving.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import grpc
from keel.storage.v1 import tenant_store_pb2, tenant_store_pb2_grpc
from keel.v1 import admin_pb2

from services.core.errors import Unauthenticated, Unavailable

KEY_PREFIX = "keel_"
# How long "no such key" is remembered: bounds storage load from bad keys.
NEGATIVE_TTL_S = 5.0
# How long a known key keeps working from the cache while storage is down.
STALE_WHILE_STORAGE_DOWN_S = 3600.0


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer_token(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise Unauthenticated(
        "missing API key: send metadata `authorization: Bearer <api key>`",
        reason="API_KEY_MISSING",
    )


@dataclass(frozen=True)
class Caller:
    tenant: admin_pb2.Tenant
    key_id: str


@dataclass
class _Entry:
    caller: Caller | None
    fresh_until: float
    usable_until: float


class ApiKeyResolver:
    def __init__(self, storage: tenant_store_pb2_grpc.TenantStoreServiceStub, ttl_s: float) -> None:
        self.storage = storage
        self.ttl_s = ttl_s
        self._cache: dict[str, _Entry] = {}

    async def authenticate(self, context: grpc.aio.ServicerContext) -> Caller:
        digest = key_hash(bearer_token(context))
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is None or now >= entry.fresh_until:
            entry = await self._resolve(digest, entry, now)
        if entry.caller is None:
            raise Unauthenticated("invalid or revoked API key", reason="API_KEY_INVALID")
        return entry.caller

    async def _resolve(self, digest: str, stale: _Entry | None, now: float) -> _Entry:
        try:
            reply = await self.storage.ResolveApiKey(
                tenant_store_pb2.ResolveApiKeyRequest(key_hash=digest), timeout=2.0
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                entry = _Entry(None, now + NEGATIVE_TTL_S, now + NEGATIVE_TTL_S)
                self._cache[digest] = entry
                return entry
            if stale is not None and stale.caller is not None and now < stale.usable_until:
                return stale
            raise Unavailable(
                "cannot verify the API key right now; retry shortly",
                reason="KEY_STORE_UNAVAILABLE",
                retry_after_s=1.0,
            ) from error
        entry = _Entry(
            Caller(tenant=reply.tenant, key_id=reply.api_key.key_id),
            now + self.ttl_s,
            now + self.ttl_s + STALE_WHILE_STORAGE_DOWN_S,
        )
        self._cache[digest] = entry
        if len(self._cache) > 100_000:
            self._evict(now)
        return entry

    def _evict(self, now: float) -> None:
        for digest in [d for d, e in self._cache.items() if e.usable_until < now]:
            del self._cache[digest]

    def forget(self, key_id: str) -> None:
        """Drop a revoked key at once (this replica; others expire it by TTL)."""
        for digest in [d for d, e in self._cache.items() if e.caller and e.caller.key_id == key_id]:
            del self._cache[digest]
