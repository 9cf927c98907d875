"""`keel up` with a PostgreSQL DSN: the same suite, its records in PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2, usage_pb2, usage_pb2_grpc

from tests.e2e.records import wait_for_records
from tests.e2e.suite import Suite, start_suite
from tests.unit.storage.postgres import server_dsn, with_search_path


async def _run_sql(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    """A private schema on the test server (skips, or fails in CI, without one)."""
    server = server_dsn()
    schema = f"keel_e2e_{secrets.token_hex(6)}"
    asyncio.run(_run_sql(server, f"CREATE SCHEMA {schema}"))
    try:
        yield with_search_path(server, schema)
    finally:
        asyncio.run(_run_sql(server, f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(scope="module")
def pg_suite(tmp_path_factory: pytest.TempPathFactory, postgres_dsn: str) -> Iterator[Suite]:
    running = start_suite(Path(tmp_path_factory.mktemp("pg")), {"storage": {"dsn": postgres_dsn}})
    yield running
    running.stop()


async def rows_in_postgres(dsn: str) -> list[asyncpg.Record]:
    schema = parse_qs(urlsplit(dsn).query)["search_path"][0]
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(f"SELECT tenant_id, request_id FROM {schema}.interactions")
    finally:
        await conn.close()


def test_the_suite_runs_on_postgresql_and_records_there(pg_suite: Suite, postgres_dsn: str) -> None:
    stub = chat_pb2_grpc.ChatServiceStub(pg_suite.channel())
    reply = stub.Generate(
        chat_pb2.GenerateRequest(
            messages=[generation_pb2.Message(role="user", content="hello pg")], request_id="pg-1"
        ),
        metadata=pg_suite.auth(),
        timeout=10,
    )
    assert reply.text
    records = wait_for_records(pg_suite, "local", expected=1)
    assert [r.request_id for r in records] == ["pg-1"]
    assert ("local", "pg-1") in {
        (r["tenant_id"], r["request_id"]) for r in asyncio.run(rows_in_postgres(postgres_dsn))
    }
    usage = usage_pb2_grpc.UsageServiceStub(pg_suite.channel()).GetUsage(
        usage_pb2.GetUsageRequest(), metadata=pg_suite.auth(), timeout=10
    )
    assert usage.request_count == 1 and usage.output_tokens == reply.usage.output_tokens
