"""The ledger's connection: its commits do not wait for the disk (SQLite: no fsync; PostgreSQL: no flush),
there and only there; PostgreSQL autocommits."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from service.storage.db import close_ledger_connection, get_engine, ledger_connection
from service.storage.migrate import upgrade
from tests.conftest import make_settings


def synchronous(settings: Settings) -> int:
    with get_engine(settings).connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_sqlite_ledger_commits_without_fsync_and_gives_the_pool_back_as_it_was(settings: Settings) -> None:
    upgrade(settings)
    engine = get_engine(settings)
    assert synchronous(settings) == 2  # FULL: every other connection keeps the default
    ledger = ledger_connection(engine)
    assert ledger.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
    assert ledger.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    ledger.commit()
    close_ledger_connection(ledger)
    assert synchronous(settings) == 2


def test_the_ledger_writes_what_it_commits(db_settings: Settings) -> None:
    upgrade(db_settings)
    engine = get_engine(db_settings)
    ledger = ledger_connection(engine)
    try:
        with ledger.begin():
            ledger.exec_driver_sql("CREATE TABLE ledger_probe (n INTEGER)")
        with ledger.begin():
            ledger.exec_driver_sql("INSERT INTO ledger_probe VALUES (7)")
        with engine.connect() as other:
            assert other.exec_driver_sql("SELECT n FROM ledger_probe").scalar_one() == 7
    finally:
        with ledger.begin():
            ledger.exec_driver_sql("DROP TABLE ledger_probe")
        close_ledger_connection(ledger)


@pytest.mark.integration
def test_postgresql_ledger_commits_asynchronously_and_gives_the_pool_back_as_it_was(
    tmp_path: Path, fresh_pg_database_url: str,
) -> None:
    engine = get_engine(make_settings(tmp_path / "var", database_url=fresh_pg_database_url))
    ledger = ledger_connection(engine)
    pid = ledger.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    assert ledger.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
    ledger.commit()
    close_ledger_connection(ledger)
    with engine.connect() as other:  # the same pooled connection, back to the server's default
        assert other.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
        assert other.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"


def test_a_ledger_asked_to_wait_for_the_disk_keeps_the_databases_durability(db_settings: Settings) -> None:
    upgrade(db_settings)
    engine = get_engine(db_settings)
    ledger = ledger_connection(engine, asynchronous=False)
    try:
        if engine.dialect.name == "postgresql":
            assert ledger.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
        else:
            assert ledger.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
    finally:
        ledger.commit()
        close_ledger_connection(ledger)
