"""The exact-match response cache: per tenant, with a TTL and a stale window."""

from __future__ import annotations

from keel.storage.v1 import response_cache_pb2

from services.storage.backends.base import Database
from services.storage.times import Clock, now_us, to_timestamp


class ResponseCache:
    def __init__(self, db: Database, clock: Clock = now_us) -> None:
        self.db = db
        self.clock = clock

    async def get(
        self, tenant_id: str, cache_key: str, *, allow_stale: bool
    ) -> response_cache_pb2.GetCachedResponseResponse:
        async with self.db.reading() as conn:
            row = await conn.fetchrow(
                "SELECT value, create_time_us, expire_time_us, purge_time_us FROM response_cache"
                " WHERE tenant_id = $1 AND cache_key = $2",
                tenant_id,
                cache_key,
            )
        now = self.clock()
        if row is None or now >= row["purge_time_us"]:
            return response_cache_pb2.GetCachedResponseResponse(found=False)
        stale = now >= row["expire_time_us"]
        if stale and not allow_stale:
            return response_cache_pb2.GetCachedResponseResponse(found=False)
        return response_cache_pb2.GetCachedResponseResponse(
            found=True,
            value=bytes(row["value"]),
            stale=stale,
            create_time=to_timestamp(row["create_time_us"]),
            expire_time=to_timestamp(row["expire_time_us"]),
        )

    async def put(
        self, tenant_id: str, cache_key: str, value: bytes, *, ttl_us: int, stale_ttl_us: int
    ) -> int:
        """Stores the entry; returns its expire time."""
        now = self.clock()
        expire = now + ttl_us
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO response_cache (tenant_id, cache_key, value, create_time_us,"
                " expire_time_us, purge_time_us) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (tenant_id, cache_key) DO UPDATE SET value = excluded.value,"
                " create_time_us = excluded.create_time_us,"
                " expire_time_us = excluded.expire_time_us,"
                " purge_time_us = excluded.purge_time_us",
                tenant_id,
                cache_key,
                value,
                now,
                expire,
                expire + stale_ttl_us,
            )
        return expire

    async def purge(self, *, chunk: int = 5000) -> int:
        """Deletes every tenant's entries past their stale window."""
        now = self.clock()
        deleted = 0
        while True:
            async with self.db.transaction() as conn:
                n = await conn.execute(
                    "DELETE FROM response_cache WHERE (tenant_id, cache_key) IN"
                    " (SELECT tenant_id, cache_key FROM response_cache"
                    "  WHERE purge_time_us <= $1 LIMIT $2)",
                    now,
                    chunk,
                )
            deleted += n
            if n < chunk:
                return deleted
