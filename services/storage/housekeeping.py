"""Background housekeeping: retention of interactions and the cache purge.

Each job runs on its own interval; a run that finds the database
unreachable is skipped (health already says so) and tried at the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from services.storage.backends.base import DatabaseUnavailable
from services.storage.tables.interactions import Interactions
from services.storage.times import DAY_US, Clock

log = logging.getLogger("keel.storage.housekeeping")

DELETED = Counter(
    "keel_storage_housekeeping_deleted_total", "Rows deleted by housekeeping", ["job"]
)


async def every(interval_s: float, job: Callable[[], Awaitable[int]], name: str) -> None:
    """Run `job` now and then every `interval_s` seconds, until cancelled."""
    while True:
        try:
            deleted = await job()
            DELETED.labels(name).inc(deleted)
            if deleted:
                log.info("housekeeping", extra={"job": name, "deleted": deleted})
        except DatabaseUnavailable:
            pass
        except Exception:  # noqa: BLE001 - a failed run must not end the job
            log.exception("housekeeping failed", extra={"job": name})
        await asyncio.sleep(interval_s)


def retention(
    interactions: Interactions, retention_days: float, clock: Clock
) -> Callable[[], Awaitable[int]]:
    """Deletes interactions that started more than `retention_days` ago."""

    async def run() -> int:
        return await interactions.delete_started_before(clock() - int(retention_days * DAY_US))

    return run
