"""Health follows the database: NOT_SERVING while PostgreSQL is unreachable,
SERVING when it is back, without restarting storage; no acknowledged write lost.

PostgreSQL is reached through a loopback TCP proxy that the tests stop
(refusing new connections and cutting open ones, as a dead server does) and
start again, so the shared server itself is never stopped.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc

from services.core.errors import details_of, status_proto_from_rpc_error
from tests.unit.storage.conftest import running_storage
from tests.unit.storage.postgres import private_schema, with_search_path
from tests.unit.storage.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def via(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


@pytest.fixture
async def schema_dsn() -> AsyncIterator[str]:
    async with private_schema() as dsn:
        yield dsn


@pytest.fixture
async def proxy(schema_dsn: str) -> AsyncIterator[TcpProxy]:
    target = urlsplit(schema_dsn)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield proxy
    await proxy.stop()


async def health_of(channel: grpc.aio.Channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    return int(reply.status)


async def wait_for_health(channel: grpc.aio.Channel, wanted: int, within_s: float) -> float:
    """Seconds until health reports `wanted`; fails after `within_s`."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if await health_of(channel) == wanted:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(wanted)
    pytest.fail(f"health not {name} within {within_s} s")


def record(iid: str) -> ledger_pb2.RecordInteractionRequest:
    return ledger_pb2.RecordInteractionRequest(
        interaction=ledger_pb2.Interaction(tenant_id="acme", interaction_id=iid)
    )


async def test_storage_started_while_postgres_is_unreachable_serves_once_it_is_reachable(
    schema_dsn: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    async with running_storage(via(schema_dsn, proxy.port), tmp_path) as storage:
        assert await health_of(storage.channel) == NOT_SERVING

        await proxy.start()

        await wait_for_health(storage.channel, SERVING, within_s=5)
        reply = await ledger_pb2_grpc.LedgerServiceStub(storage.channel).RecordInteraction(
            record("after-start")
        )
        assert reply.created


async def test_calls_while_the_database_is_unreachable_fail_fast_with_unavailable_and_retry_info(
    schema_dsn: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    await proxy.start()
    async with running_storage(via(schema_dsn, proxy.port), tmp_path) as storage:
        await wait_for_health(storage.channel, SERVING, within_s=5)
        await proxy.stop()
        ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)

        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ledger.RecordInteraction(record("while-down"), timeout=5)
        elapsed = time.monotonic() - started

        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        retry = details_of(status_proto_from_rpc_error(raised.value))["RetryInfo"]
        assert isinstance(retry, error_details_pb2.RetryInfo)
        assert retry.retry_delay.ToMilliseconds() == 1000
        assert elapsed < 1.0


async def outage_during_traffic(
    channel: grpc.aio.Channel,
    cut: Callable[[], Awaitable[None]],
    restore: Callable[[], Awaitable[None]],
) -> tuple[list[int], list[str], list[grpc.StatusCode]]:
    """Writes from 4 writers while the database goes away and comes back.

    Returns the health statuses seen on a Watch stream, the acknowledged
    interaction ids and the codes of refused writes.
    """
    await wait_for_health(channel, SERVING, within_s=5)
    ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
    seen: list[int] = []

    async def follow() -> None:
        async for reply in watch:
            seen.append(int(reply.status))

    acknowledged: list[str] = []
    refused: list[grpc.StatusCode] = []
    stop = asyncio.Event()

    async def traffic(writer: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            iid = f"int-{writer}-{n}"
            try:
                await ledger.RecordInteraction(record(iid), timeout=2)
                acknowledged.append(iid)
            except grpc.aio.AioRpcError as error:
                refused.append(error.code())
                await asyncio.sleep(0.02)

    follower = asyncio.create_task(follow())
    writers = [asyncio.create_task(traffic(w)) for w in range(4)]
    await asyncio.sleep(0.3)
    before_outage = len(acknowledged)
    await cut()
    await wait_for_health(channel, NOT_SERVING, within_s=5)
    await asyncio.sleep(0.3)
    await restore()
    await wait_for_health(channel, SERVING, within_s=15)
    after_recovery = len(acknowledged)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*writers)
    watch.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    assert before_outage > 0 and len(acknowledged) > after_recovery
    return seen, acknowledged, refused


async def test_postgres_outage_during_traffic_flips_health_and_loses_no_acknowledged_write(
    schema_dsn: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    await proxy.start()
    async with running_storage(via(schema_dsn, proxy.port), tmp_path) as storage:
        seen, acknowledged, refused = await outage_during_traffic(
            storage.channel, proxy.stop, proxy.start
        )
    stored = await stored_interaction_ids(schema_dsn)
    assert seen[:3] == [SERVING, NOT_SERVING, SERVING]
    assert set(refused) == {grpc.StatusCode.UNAVAILABLE}
    assert set(acknowledged) <= stored


async def test_database_connections_killed_by_the_server_are_replaced_without_a_restart(
    schema_dsn: str, tmp_path: Path
) -> None:
    app_name = f"keel-test-{secrets.token_hex(4)}"
    dsn = f"{schema_dsn}&application_name={app_name}"
    async with running_storage(dsn, tmp_path) as storage:
        await wait_for_health(storage.channel, SERVING, within_s=5)
        ledger = ledger_pb2_grpc.LedgerServiceStub(storage.channel)
        await ledger.RecordInteraction(record("before"))

        admin = await asyncpg.connect(schema_dsn)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                app_name,
            )
        finally:
            await admin.close()

        outcomes = []
        for n in range(3):
            try:
                outcomes.append((await ledger.RecordInteraction(record(f"after-{n}"))).created)
            except grpc.aio.AioRpcError as error:
                outcomes.append(error.code())
        await wait_for_health(storage.channel, SERVING, within_s=3)

    assert killed >= 1
    assert outcomes[-1] is True  # at most the calls on dead connections failed
    assert set(outcomes) <= {True, grpc.StatusCode.UNAVAILABLE}


async def stored_interaction_ids(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT interaction_id FROM interactions WHERE tenant_id = 'acme'")
    finally:
        await conn.close()
    return {row[0] for row in rows}


def test_the_proxy_dsn_keeps_the_schema() -> None:
    dsn = with_search_path("postgresql://postgres@127.0.0.1:5432/test", "s1")

    assert via(dsn, 6000) == "postgresql://postgres@127.0.0.1:6000/test?search_path=s1"
