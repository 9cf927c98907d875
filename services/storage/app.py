"""The storage process: the database, its four gRPC services, health and housekeeping.

    python -m services.storage      (config: KEEL_CONFIG or ./keel.toml, env KEEL_STORAGE__*)

The server starts listening at once. The database is opened and migrated
before health first reports SERVING; while it is unreachable (at start or
later) health says NOT_SERVING and calls fail fast with UNAVAILABLE and
RetryInfo, and storage keeps trying without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from keel.storage.v1 import (
    catalogue_pb2,
    catalogue_pb2_grpc,
    ledger_pb2,
    ledger_pb2_grpc,
    response_cache_pb2,
    response_cache_pb2_grpc,
    tenant_store_pb2,
    tenant_store_pb2_grpc,
)

from services.core.config import Raw, server_settings, state_dir
from services.core.server import ServiceHost, full_name
from services.storage.backends import open_database
from services.storage.batcher import WriteBatcher
from services.storage.database_health import DatabaseHealth
from services.storage.housekeeping import every, retention
from services.storage.servicers.catalogue import CatalogueServicer
from services.storage.servicers.ledger import LedgerServicer
from services.storage.servicers.response_cache import ResponseCacheServicer
from services.storage.servicers.tenant_store import TenantStoreServicer
from services.storage.tables.api_keys import ApiKeys
from services.storage.tables.catalogue import Catalogue
from services.storage.tables.interactions import Interactions
from services.storage.tables.response_cache import ResponseCache
from services.storage.tables.tenants import Tenants
from services.storage.times import Clock, now_us

log = logging.getLogger("keel.storage")

DEFAULT_RETENTION_DAYS = 30


class StorageApp:
    def __init__(
        self,
        raw: Raw,
        *,
        clock: Clock = now_us,
        on_fatal: Callable[[], None] | None = None,
    ) -> None:
        section: dict[str, Any] = raw.get("storage", {})
        self.section = section
        self.settings = server_settings(raw, "storage")
        self.clock = clock
        self.on_fatal = on_fatal
        self.db = open_database(
            str(section.get("dsn", "sqlite:///keel.db")), state_dir(raw), section
        )
        self.tenants = Tenants(self.db, clock)
        self.api_keys = ApiKeys(self.db, clock)
        self.interactions = Interactions(self.db, clock)
        self.cache = ResponseCache(self.db, clock)
        self.catalogue = Catalogue(self.db, clock)
        self.writes = WriteBatcher(
            "interactions",
            self.interactions.record,
            max_rows=int(section.get("write_batch_rows", 256)),
        )
        self.host = ServiceHost(
            self.settings,
            [
                (
                    full_name(tenant_store_pb2, "TenantStoreService"),
                    tenant_store_pb2_grpc.add_TenantStoreServiceServicer_to_server,
                    TenantStoreServicer(self.tenants, self.api_keys),
                ),
                (
                    full_name(ledger_pb2, "LedgerService"),
                    ledger_pb2_grpc.add_LedgerServiceServicer_to_server,
                    LedgerServicer(self.interactions, self.writes),
                ),
                (
                    full_name(response_cache_pb2, "ResponseCacheService"),
                    response_cache_pb2_grpc.add_ResponseCacheServiceServicer_to_server,
                    ResponseCacheServicer(self.cache),
                ),
                (
                    full_name(catalogue_pb2, "CatalogueService"),
                    catalogue_pb2_grpc.add_CatalogueServiceServicer_to_server,
                    CatalogueServicer(self.catalogue),
                ),
            ],
        )
        self.database_health = DatabaseHealth(
            self.db,
            self.host.health,
            interval_s=float(section.get("health_probe_interval_s", 1.0)),
            on_ready=self._start_housekeeping,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """After the server starts: open the database, then keep health in step with it.

        A database that is unreachable now is retried in the background; any
        other failure to open it (a bad migration, a bad path) raises here.
        """
        if not await self.database_health.open():
            log.warning("database unreachable at start; retrying in the background")
        self._spawn(self.database_health.run(), "database-health")

    async def stop(self) -> None:
        """After the server has drained: finish pending writes, close the database."""
        await self.writes.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.db.close()

    async def _start_housekeeping(self) -> None:
        days = float(self.section.get("retention_days", DEFAULT_RETENTION_DAYS))
        if days > 0:
            self._spawn(
                every(
                    float(self.section.get("retention_interval_s", 3600.0)),
                    retention(self.interactions, days, self.clock),
                    "retention",
                ),
                "retention",
            )
        self._spawn(
            every(
                float(self.section.get("cache_purge_interval_s", 60.0)),
                self.cache.purge,
                "cache_purge",
            ),
            "cache-purge",
        )

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(self._supervised(work, name), name=name))

    async def _supervised(self, work: Awaitable[None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical(
                "background task failed; storage cannot work", extra={"task": name}, exc_info=True
            )
            await self.host.health.set_serving(False, f"{name} failed")
            if self.on_fatal is not None:
                self.on_fatal()


async def serve(raw: Raw) -> None:
    """Run storage until SIGTERM or SIGINT."""
    app = StorageApp(raw, on_fatal=lambda: signal.raise_signal(signal.SIGTERM))
    await app.host.run(on_started=app.start, on_stopped=app.stop)
