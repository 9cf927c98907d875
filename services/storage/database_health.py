"""Health that follows the database: NOT_SERVING while it is unreachable,
SERVING once it answers again, without a restart.

One loop owns it. Until the database has been opened and migrated, it tries
that (with backoff); afterwards it runs a tiny real query every interval.
Any operation that finds the database unreachable flips health to
NOT_SERVING at once (`connection_lost`), and the loop turns it back to
SERVING when a probe succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.core.health import HealthReporter
from services.storage.backends.base import Database, DatabaseUnavailable
from services.storage.migrations import migrate

log = logging.getLogger("keel.storage.health")

PROBE_TIMEOUT_S = 2.0


class DatabaseHealth:
    def __init__(
        self,
        db: Database,
        reporter: HealthReporter,
        *,
        interval_s: float = 1.0,
        on_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.reporter = reporter
        self.interval_s = interval_s
        self.on_ready = on_ready
        self.opened = False
        self._flips: set[asyncio.Task[None]] = set()
        db.on_unavailable = self.connection_lost

    def connection_lost(self, error: BaseException) -> None:
        """A call found the database unreachable: NOT_SERVING now, not at the next probe."""
        if self.reporter.serving:
            log.warning("database unreachable", extra={"error": type(error).__name__})
            flip = asyncio.get_running_loop().create_task(
                self.reporter.set_serving(False, "database unreachable")
            )
            self._flips.add(flip)
            flip.add_done_callback(self._flips.discard)

    async def open(self) -> bool:
        """Open the database and apply migrations; False while it is unreachable.

        Errors other than unreachability (a bad migration, a bad DSN) raise.
        """
        if not self.opened:
            try:
                await self.db.close()  # whatever a failed attempt left open
                await self.db.open()
                await migrate(self.db)
            except DatabaseUnavailable:
                await self.db.close()
                return False
            self.opened = True
            if self.on_ready is not None:
                await self.on_ready()
        await self.reporter.set_serving(True, "database reachable")
        return True

    async def run(self) -> None:
        while True:
            if not self.opened:
                await self.open()
            else:
                ok = await self._probe()
                await self.reporter.set_serving(
                    ok, "database reachable" if ok else "database unreachable"
                )
            await asyncio.sleep(self.interval_s)

    async def _probe(self) -> bool:
        try:
            await asyncio.wait_for(self.db.probe(), PROBE_TIMEOUT_S)
        except (DatabaseUnavailable, TimeoutError):
            return False
        except Exception:  # noqa: BLE001 - a probe that fails oddly is a failed probe
            log.exception("database probe failed")
            return False
        return True
