"""The real PostgreSQL server stopped and started during traffic: storage
turns NOT_SERVING, then SERVING again without a restart, and no acknowledged
write is lost.

This stops the machine's shared server (briefly, and always starts it again),
so it runs only where this process may do that: as root, with the server on
this machine managed by pg_ctlcluster.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest
from grpc_health.v1 import health_pb2

from tests.unit.storage.conftest import running_storage
from tests.unit.storage.postgres import private_schema, server_dsn
from tests.unit.storage.test_database_health import outage_during_traffic, stored_interaction_ids

pytestmark = pytest.mark.postgres

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def local_cluster() -> list[str]:
    """`pg_ctlcluster VERSION main` for the local server, or a skip saying why not."""
    host = urlsplit(server_dsn()).hostname or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip(f"the PostgreSQL server at {host} is not on this machine")
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None:
        pytest.skip("stopping the server needs root and pg_ctlcluster")
    versions = sorted(os.listdir("/etc/postgresql"))
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def server_is_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], timeout=10).returncode == 0


@pytest.fixture
async def schema_dsn() -> AsyncIterator[str]:
    async with private_schema() as dsn:
        yield dsn


async def test_postgres_stopped_and_started_during_traffic_loses_no_acknowledged_write(
    schema_dsn: str, tmp_path: Path
) -> None:
    cluster = local_cluster()

    async def stop_server() -> None:
        await asyncio.to_thread(
            subprocess.run, [*cluster, "stop", "--", "-m", "fast"], check=True, timeout=60
        )

    async def start_server() -> None:
        await asyncio.to_thread(subprocess.run, [*cluster, "start"], check=True, timeout=60)

    try:
        async with running_storage(schema_dsn, tmp_path) as storage:
            seen, acknowledged, refused = await outage_during_traffic(
                storage.channel, stop_server, start_server
            )
    finally:
        if not await asyncio.to_thread(server_is_up):  # whatever happened, leave it running
            await start_server()
    stored = await stored_interaction_ids(schema_dsn)
    assert seen[:3] == [SERVING, NOT_SERVING, SERVING]
    assert set(refused) <= {grpc.StatusCode.UNAVAILABLE}
    assert set(acknowledged) <= stored
