"""Fixtures for the storage tests: a database per test on each backend, a
fake clock, and an in-process storage server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from services.storage.app import StorageApp
from services.storage.backends import open_database
from services.storage.backends.base import Database
from services.storage.migrations import migrate
from tests.unit.storage.postgres import private_schema

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class FakeClock:
    """Microseconds since the epoch, moved by hand."""

    now: int = 1_750_000_000 * 1_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
async def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A DSN for an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keel.db'}"  # absolute: sqlite:////tmp/...
    else:
        async with private_schema() as pg_dsn:
            yield pg_dsn


@pytest.fixture
async def unmigrated(dsn: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An open database with no schema yet."""
    db = open_database(dsn, tmp_path)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def database(unmigrated: Database) -> Database:
    """An open database at the latest schema version."""
    await migrate(unmigrated)
    return unmigrated


def storage_config(dsn: str, state: Path, **storage: Any) -> dict[str, Any]:
    return {
        "state_dir": str(state),
        "storage": {
            "host": "127.0.0.1",
            "port": 0,
            "metrics_port": 0,
            "shutdown_grace_s": 1.0,
            "dsn": dsn,
            "health_probe_interval_s": 0.2,
            **storage,
        },
    }


@dataclass
class RunningStorage:
    app: StorageApp
    channel: grpc.aio.Channel
    address: str


@asynccontextmanager
async def running_storage(
    dsn: str, state: Path, clock: Callable[[], int] | None = None, **storage: Any
) -> AsyncIterator[RunningStorage]:
    """The storage service in this process, on a free loopback port."""
    app = StorageApp(storage_config(dsn, state, **storage), **({"clock": clock} if clock else {}))
    port = await app.host.start()
    await app.start()
    address = f"127.0.0.1:{port}"
    channel = grpc.aio.insecure_channel(address)
    try:
        yield RunningStorage(app, channel, address)
    finally:
        await channel.close()
        await app.host.stop()
        await app.stop()


@pytest.fixture
async def storage(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningStorage]:
    """Storage on SQLite, served over gRPC on loopback, with the fake clock."""
    async with running_storage(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path, clock) as running:
        yield running
