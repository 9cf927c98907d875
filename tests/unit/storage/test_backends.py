"""Choosing a backend from the DSN."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.storage.backends import open_database
from services.storage.backends.postgres import PostgresDatabase
from services.storage.backends.sqlite import SqliteDatabase


def test_a_relative_sqlite_path_is_under_the_state_folder(tmp_path: Path) -> None:
    db = open_database("sqlite:///data/keel.db", tmp_path)

    assert isinstance(db, SqliteDatabase)
    assert db.path == tmp_path / "data" / "keel.db"


def test_an_absolute_sqlite_path_takes_four_slashes(tmp_path: Path) -> None:
    db = open_database("sqlite:////var/lib/keel/keel.db", tmp_path)

    assert isinstance(db, SqliteDatabase)
    assert db.path == Path("/var/lib/keel/keel.db")


def test_sqlite_is_fully_synchronous_unless_configured(tmp_path: Path) -> None:
    default = open_database("sqlite:///keel.db", tmp_path)
    relaxed = open_database("sqlite:///keel.db", tmp_path, {"sqlite_synchronous": "normal"})

    assert isinstance(default, SqliteDatabase) and default.synchronous == "FULL"
    assert isinstance(relaxed, SqliteDatabase) and relaxed.synchronous == "NORMAL"


@pytest.mark.parametrize("dsn", ["postgresql://u@db:5432/keel", "postgres://u@db/keel"])
def test_a_postgresql_dsn_selects_postgresql(dsn: str, tmp_path: Path) -> None:
    db = open_database(dsn, tmp_path)

    assert isinstance(db, PostgresDatabase)
    assert db.dsn == dsn


@pytest.mark.parametrize("dsn", ["mysql://db/keel", "keel.db", "sqlite://relative.db"])
def test_an_unsupported_dsn_is_refused_at_start(dsn: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="storage.dsn"):
        open_database(dsn, tmp_path)
