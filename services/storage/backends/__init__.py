"""Storage backends, chosen by the DSN in `storage.dsn` (env KEEL_STORAGE__DSN).

sqlite:///keel.db            relative: under the state folder
sqlite:////var/lib/keel.db   absolute (four slashes)
postgresql://user@host:5432/db   (postgres:// too; query parameters such
                              as ?search_path=keel go to the server)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.storage.backends.base import Database


def open_database(dsn: str, state_dir: Path, options: dict[str, Any] | None = None) -> Database:
    """The backend for `dsn`, not yet connected (call open())."""
    options = options or {}
    if dsn.startswith("sqlite://"):
        from services.storage.backends.sqlite import SqliteDatabase

        return SqliteDatabase(
            sqlite_path(dsn, state_dir),
            synchronous=str(options.get("sqlite_synchronous", "FULL")),
        )
    if dsn.startswith(("postgresql://", "postgres://")):
        from services.storage.backends.postgres import PostgresDatabase

        return PostgresDatabase(
            dsn,
            min_connections=int(options.get("postgres_min_connections", 1)),
            max_connections=int(options.get("postgres_max_connections", 10)),
        )
    scheme = dsn.split(":", 1)[0] if ":" in dsn else dsn
    raise ValueError(
        f"storage.dsn: unsupported scheme {scheme!r}; use sqlite:///<path> or postgresql://..."
    )


def sqlite_path(dsn: str, state_dir: Path) -> Path:
    """sqlite:///rel.db -> <state_dir>/rel.db; sqlite:////abs.db -> /abs.db."""
    rest = dsn[len("sqlite://") :]
    if not rest.startswith("/") or rest == "/":
        raise ValueError(
            "storage.dsn: expected sqlite:///<relative path> or sqlite:////<absolute path>"
        )
    path = rest[1:]
    if path.startswith("/"):
        return Path(path)
    return state_dir / path
