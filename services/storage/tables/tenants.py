"""Tenants and their quotas."""

from __future__ import annotations

from keel.v1 import admin_pb2

from services.core.errors import AlreadyExists, NotFound
from services.storage import page_tokens
from services.storage.backends.base import Database, Row
from services.storage.times import Clock, now_us, to_timestamp

_COLUMNS = (
    "tenant_id, display_name, requests_per_minute, tokens_per_minute,"
    " max_concurrent_requests, daily_spend_limit_micros, create_time_us"
)


def tenant_from_row(row: Row, prefix: str = "") -> admin_pb2.Tenant:
    return admin_pb2.Tenant(
        tenant_id=row[prefix + "tenant_id"],
        display_name=row[prefix + "display_name"],
        quota=admin_pb2.Quota(
            requests_per_minute=row[prefix + "requests_per_minute"],
            tokens_per_minute=row[prefix + "tokens_per_minute"],
            max_concurrent_requests=row[prefix + "max_concurrent_requests"],
            daily_spend_limit_micros=row[prefix + "daily_spend_limit_micros"],
        ),
        create_time=to_timestamp(row[prefix + "create_time_us"]),
    )


class Tenants:
    def __init__(self, db: Database, clock: Clock = now_us) -> None:
        self.db = db
        self.clock = clock

    async def create(
        self, tenant_id: str, display_name: str, quota: admin_pb2.Quota
    ) -> admin_pb2.Tenant:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                f"INSERT INTO tenants ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                f" ON CONFLICT (tenant_id) DO NOTHING RETURNING {_COLUMNS}",
                tenant_id,
                display_name or tenant_id,
                quota.requests_per_minute,
                quota.tokens_per_minute,
                quota.max_concurrent_requests,
                quota.daily_spend_limit_micros,
                self.clock(),
            )
        if row is None:
            raise AlreadyExists(f"tenant {tenant_id!r} already exists", reason="TENANT_EXISTS")
        return tenant_from_row(row)

    async def get(self, tenant_id: str) -> admin_pb2.Tenant:
        async with self.db.reading() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM tenants WHERE tenant_id = $1", tenant_id
            )
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}", reason="TENANT_NOT_FOUND")
        return tenant_from_row(row)

    async def list(self, page_size: int, page_token: str) -> tuple[list[admin_pb2.Tenant], str]:
        """Tenants by id."""
        page = page_tokens.page("tenants", page_size, page_token)
        async with self.db.reading() as conn:
            if page.after is None:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM tenants ORDER BY tenant_id LIMIT $1", page.size + 1
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM tenants WHERE tenant_id > $1"
                    " ORDER BY tenant_id LIMIT $2",
                    page.after[0],
                    page.size + 1,
                )
        rows, token = page_tokens.next_token("tenants", rows, page.size, lambda r: [r["tenant_id"]])
        return [tenant_from_row(r) for r in rows], token

    async def update_quota(self, tenant_id: str, quota: admin_pb2.Quota) -> admin_pb2.Tenant:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE tenants SET requests_per_minute = $2, tokens_per_minute = $3,"
                " max_concurrent_requests = $4, daily_spend_limit_micros = $5"
                f" WHERE tenant_id = $1 RETURNING {_COLUMNS}",
                tenant_id,
                quota.requests_per_minute,
                quota.tokens_per_minute,
                quota.max_concurrent_requests,
                quota.daily_spend_limit_micros,
            )
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r}", reason="TENANT_NOT_FOUND")
        return tenant_from_row(row)
