"""keel.storage.v1.ResponseCacheService: the exact-match response cache."""

from __future__ import annotations

import grpc
from keel.storage.v1 import response_cache_pb2 as pb
from keel.storage.v1 import response_cache_pb2_grpc

from services.storage import validation
from services.storage.tables.response_cache import ResponseCache
from services.storage.times import duration_us, to_timestamp

MAX_VALUE_BYTES = 1 << 20


class ResponseCacheServicer(response_cache_pb2_grpc.ResponseCacheServiceServicer):
    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    async def GetCachedResponse(
        self, request: pb.GetCachedResponseRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCachedResponseResponse:
        return await self.cache.get(
            validation.tenant_id(request.tenant_id),
            validation.identifier(request.cache_key, "cache_key", max_length=512),
            allow_stale=request.allow_stale,
        )

    async def PutCachedResponse(
        self, request: pb.PutCachedResponseRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutCachedResponseResponse:
        ttl_us = duration_us(request.ttl)
        stale_ttl_us = duration_us(request.stale_ttl)
        if ttl_us <= 0:
            raise validation.invalid("ttl", "must be positive")
        validation.not_negative(stale_ttl_us, "stale_ttl")
        if len(request.value) > MAX_VALUE_BYTES:
            raise validation.invalid("value", f"at most {MAX_VALUE_BYTES} bytes")
        expire_us = await self.cache.put(
            validation.tenant_id(request.tenant_id),
            validation.identifier(request.cache_key, "cache_key", max_length=512),
            request.value,
            ttl_us=ttl_us,
            stale_ttl_us=stale_ttl_us,
        )
        return pb.PutCachedResponseResponse(expire_time=to_timestamp(expire_us))

    async def PurgeCachedResponses(
        self, request: pb.PurgeCachedResponsesRequest, context: grpc.aio.ServicerContext
    ) -> pb.PurgeCachedResponsesResponse:
        return pb.PurgeCachedResponsesResponse(deleted_count=await self.cache.purge())
