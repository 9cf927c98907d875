"""A private PostgreSQL schema per test, on the server named by KEEL_TEST_POSTGRES_DSN.

Without that variable PostgreSQL cases skip and say why; in CI (env CI set)
they fail instead, so a CI run can never pass without exercising PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

ENV = "KEEL_TEST_POSTGRES_DSN"


def server_dsn() -> str:
    dsn = os.environ.get(ENV, "")
    if dsn:
        return dsn
    why = f"{ENV} not set: PostgreSQL cases need a server, e.g. postgresql://postgres@127.0.0.1:5432/test"
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must exercise PostgreSQL)")
    pytest.skip(why)


def with_search_path(dsn: str, schema: str) -> str:
    """The DSN with every connection's search_path set to `schema` (asyncpg
    passes unknown query parameters to the server as settings)."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def private_schema(dsn: str | None = None) -> AsyncIterator[str]:
    """A fresh schema for one test, dropped afterwards; yields a DSN that uses it."""
    dsn = dsn or server_dsn()
    schema = f"keel_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    try:
        yield with_search_path(dsn, schema)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()
