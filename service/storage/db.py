"""Database engine and sessions, for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Web, worker and beat are separate processes sharing one file: wait on locks
        # instead of failing at once.
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web read while a worker writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free space: an erased subscriber's
    # address must not survive in the file (see checkpoint_wal for the WAL's copies).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def ledger_connection(engine: Engine, asynchronous: bool = True) -> Connection:
    """A connection for a stream of small commits (a worker recording its sends).

    Both databases trade the same thing: a commit returns before it reached the disk, so a
    crash of the *database* (or of the machine) may lose the last moments' commits, never the
    database's consistency; a crash of the worker loses nothing, the database has them. For the
    ledger that means digests recorded as sent in those last moments are found 'sending' again
    and re-sent with the same Message-ID (receivers drop the copy); the claim rows were committed
    with full durability before, so nobody is skipped.

    PostgreSQL: autocommit, so each statement is one round trip (no BEGIN/COMMIT), and
    ``synchronous_commit=off`` for this session only: the WAL writer flushes the commits within
    three times wal_writer_delay (0.6 s by default), instead of each backend waiting on its own
    fsync (3 ms of the worker's time and 0.2 ms of the server's CPU a send on this machine).
    psycopg prepares a statement server-side from its fifth execution (the ledger's send at its
    first), so the ledger's few fixed statements are parsed and planned once per connection.

    SQLite: ``synchronous=NORMAL`` on this connection only (WAL mode). A commit then writes the
    WAL without waiting for fsync (2.2 ms a commit on this machine's disk, 0.02 ms without).

    ASYNCHRONOUS false (setting ``LEDGER_ASYNC_COMMIT``) keeps the database's own durability.
    ``close_ledger_connection`` puts the pooled connection back to the default."""
    if engine.dialect.name == "postgresql":
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if asynchronous:
            connection.exec_driver_sql("SET synchronous_commit = off")
            connection.commit()
        return connection
    connection = engine.connect()
    if engine.dialect.name == "sqlite" and asynchronous:
        connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        connection.commit()
    return connection


def close_ledger_connection(connection: Connection) -> None:
    reset = {"sqlite": "PRAGMA synchronous=FULL", "postgresql": "RESET synchronous_commit"}.get(connection.dialect.name)
    if reset and not connection.invalidated:
        try:
            connection.exec_driver_sql(reset)  # the pool's next user expects the default
            connection.commit()
        except Exception:
            connection.invalidate()  # never back into the pool in an unknown state
    connection.close()


def checkpoint_wal(settings: Settings) -> None:
    """On SQLite, move the WAL into the database file and truncate it, so the WAL keeps no older
    copy of a page (run after an erase). Readers still holding an old snapshot keep their frames
    until they finish; a later checkpoint then takes them. A no-op on PostgreSQL."""
    engine = get_engine(settings)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every pooled connection (after fork, or before dropping a database)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def get_engine(settings: Settings) -> Engine:
    return engine_for(settings.effective_database_url)


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(get_engine(settings), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(settings: Settings) -> None:
    """Raise when the database does not answer."""
    with get_engine(settings).connect() as connection:
        connection.execute(text("SELECT 1"))
