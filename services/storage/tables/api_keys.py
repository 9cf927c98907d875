"""API keys, stored as SHA-256 hashes: the plaintext never reaches storage."""

from __future__ import annotations

import secrets

from keel.v1 import admin_pb2

from services.core.errors import AlreadyExists, NotFound
from services.storage import page_tokens
from services.storage.backends.base import Database, Row
from services.storage.tables.tenants import _COLUMNS as _TENANT_COLUMNS
from services.storage.tables.tenants import tenant_from_row
from services.storage.times import Clock, now_us, to_timestamp

_COLUMNS = "key_id, tenant_id, display_name, key_prefix, create_time_us, revoke_time_us"


def key_from_row(row: Row) -> admin_pb2.ApiKey:
    key = admin_pb2.ApiKey(
        key_id=row["key_id"],
        tenant_id=row["tenant_id"],
        display_name=row["display_name"],
        key_prefix=row["key_prefix"],
        create_time=to_timestamp(row["create_time_us"]),
    )
    if row["revoke_time_us"] is not None:
        key.revoke_time.CopyFrom(to_timestamp(row["revoke_time_us"]))
    return key


def _not_found(key_id: str) -> NotFound:
    return NotFound(f"no API key {key_id!r} for this tenant", reason="API_KEY_NOT_FOUND")


class ApiKeys:
    def __init__(self, db: Database, clock: Clock = now_us) -> None:
        self.db = db
        self.clock = clock

    async def create(
        self, tenant_id: str, display_name: str, key_prefix: str, key_hash: str
    ) -> admin_pb2.ApiKey:
        async with self.db.transaction() as conn:
            tenant = await conn.fetchrow("SELECT 1 FROM tenants WHERE tenant_id = $1", tenant_id)
            if tenant is None:
                raise NotFound(f"no tenant {tenant_id!r}", reason="TENANT_NOT_FOUND")
            row = await conn.fetchrow(
                "INSERT INTO api_keys (key_id, tenant_id, display_name, key_prefix, key_hash,"
                " create_time_us) VALUES ($1, $2, $3, $4, $5, $6)"
                f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                "key_" + secrets.token_hex(8),
                tenant_id,
                display_name,
                key_prefix,
                key_hash,
                self.clock(),
            )
        if row is None:
            raise AlreadyExists("a key with this hash exists", reason="API_KEY_EXISTS")
        return key_from_row(row)

    async def resolve(self, key_hash: str) -> tuple[admin_pb2.ApiKey, admin_pb2.Tenant]:
        """The active (not revoked) key with this hash, and its tenant."""
        tenant_columns = ", ".join(f"t.{c} AS t_{c}" for c in _TENANT_COLUMNS.split(", "))
        key_columns = ", ".join(f"k.{c}" for c in _COLUMNS.split(", "))
        async with self.db.reading() as conn:
            row = await conn.fetchrow(
                f"SELECT {key_columns}, {tenant_columns} FROM api_keys k"
                " JOIN tenants t ON t.tenant_id = k.tenant_id"
                " WHERE k.key_hash = $1 AND k.revoke_time_us IS NULL",
                key_hash,
            )
        if row is None:
            raise NotFound("no active key with this hash", reason="API_KEY_NOT_FOUND")
        return key_from_row(row), tenant_from_row(row, prefix="t_")

    async def list(
        self, tenant_id: str, page_size: int, page_token: str
    ) -> tuple[list[admin_pb2.ApiKey], str]:
        """A tenant's keys, newest first, revoked ones included."""
        scope = f"api_keys/{tenant_id}"
        page = page_tokens.page(scope, page_size, page_token, (int, str))
        async with self.db.reading() as conn:
            if page.after is None:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM api_keys WHERE tenant_id = $1"
                    " ORDER BY create_time_us DESC, key_id DESC LIMIT $2",
                    tenant_id,
                    page.size + 1,
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM api_keys WHERE tenant_id = $1"
                    " AND (create_time_us, key_id) < ($2, $3)"
                    " ORDER BY create_time_us DESC, key_id DESC LIMIT $4",
                    tenant_id,
                    page.after[0],
                    page.after[1],
                    page.size + 1,
                )
        rows, token = page_tokens.next_token(
            scope, rows, page.size, lambda r: [r["create_time_us"], r["key_id"]]
        )
        return [key_from_row(r) for r in rows], token

    async def revoke(self, tenant_id: str, key_id: str) -> admin_pb2.ApiKey:
        """Revokes the tenant's key (again: keeps the first revoke time)."""
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE api_keys SET revoke_time_us = COALESCE(revoke_time_us, $3)"
                f" WHERE tenant_id = $1 AND key_id = $2 RETURNING {_COLUMNS}",
                tenant_id,
                key_id,
                self.clock(),
            )
        if row is None:
            raise _not_found(key_id)
        return key_from_row(row)
