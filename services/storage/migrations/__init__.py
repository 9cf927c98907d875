"""Versioned schema migrations, applied in order at start.

Each migration is a module `v<NNNN>_<name>.py` holding the same change for
both dialects (SQLITE and POSTGRES: tuples of statements). A migration runs
in one transaction with its row in schema_migrations, so it is applied
entirely or not at all. Applying is idempotent, and safe when several
replicas start at once: each migration's transaction first takes the
backend's migration lock (an advisory lock on PostgreSQL, the write lock on
SQLite) and re-checks whether another replica applied it meanwhile.

Never edit a released migration: add the next one.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from dataclasses import dataclass

from services.storage.backends.base import Database

log = logging.getLogger("keel.storage.migrations")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_time_us BIGINT NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: dict[str, tuple[str, ...]]  # by dialect


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("v"):
            continue
        number, _, name = info.name[1:].partition("_")
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(
            Migration(
                version=int(number),
                name=name,
                statements={"sqlite": module.SQLITE, "postgres": module.POSTGRES},
            )
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


LATEST = len(all_migrations())


async def applied_versions(db: Database) -> list[int]:
    async with db.migration_transaction() as conn:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    return [int(row[0]) for row in rows]


async def migrate(db: Database, target: int | None = None) -> list[int]:
    """Apply the migrations not yet applied, up to `target` (default: all).

    Returns the versions this call applied (empty when already up to date).
    Marks the database ready once it is at the latest version.
    """
    applied: list[int] = []
    for migration in all_migrations():
        if target is not None and migration.version > target:
            break
        async with db.migration_transaction() as conn:
            await db.lock_for_migration(conn)
            await conn.execute(_CREATE_LEDGER)
            done = await conn.fetchrow(
                "SELECT version FROM schema_migrations WHERE version = $1", migration.version
            )
            if done is not None:
                continue
            for statement in migration.statements[db.dialect]:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_time_us)"
                " VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                time.time_ns() // 1000,
            )
        applied.append(migration.version)
        log.info(
            "migration applied", extra={"version": migration.version, "migration": migration.name}
        )
    if target is None or target >= LATEST:
        db.ready = True
    return applied
