"""The ledger's connection: SQLite commits without fsync there and only there; PostgreSQL autocommits."""

from __future__ import annotations

from config.settings import Settings
from service.storage.db import close_ledger_connection, get_engine, ledger_connection
from service.storage.migrate import upgrade


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
