"""On PostgreSQL the ledger's statements are prepared once per connection (psycopg prepares a
query from its fifth execution), so recording a send is one round trip of a planned statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import OperationalError
from sqlalchemy import select

from config.settings import Settings
from service.digests.record import Ledger
from service.ingest.poll import ingest_document
from service.matching.records import Match, Reasons
from service.storage.db import get_engine, session_scope
from service.storage.migrate import upgrade
from service.storage.models import Delivery, Paper, Subscriber
from tests.conftest import make_settings
from tests.service.digests.test_record import THURSDAY, FRIDAY_0800, claimed
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_settings(tmp_path: Path, fresh_pg_database_url: str) -> Settings:
    settings = make_settings(tmp_path / "var", database_url=fresh_pg_database_url)
    upgrade(settings)
    return settings


def test_recording_sends_uses_a_prepared_statement(pg_settings: Settings) -> None:
    ingest_document(pg_settings, hf_json(hf_item("2611.70001", "Two-bit quantization", 40)), source_name="hf-daily",
                    now=THURSDAY)
    emails = [f"reader{i}@example.org" for i in range(7)]
    deliveries = claimed(pg_settings, *emails)
    with session_scope(pg_settings) as session:
        paper_id = session.scalars(select(Paper.id)).one()
        subscribers = dict(session.execute(select(Subscriber.email, Subscriber.id)).all())
    ledger = Ledger(get_engine(pg_settings))
    try:
        for email in emails:
            ledger.take([deliveries[email]], "token-1")
            ledger.sent(deliveries[email], subscribers[email], [Match(paper_id, 1.0, Reasons(trending=True))],
                        f"<{email}>", FRIDAY_0800)
        prepared = ledger.conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    finally:
        ledger.close()
    assert any("UPDATE deliveries SET status = 'sent'" in statement and "paper_ids" in statement
               for statement in prepared)
    assert any("UPDATE deliveries SET status" in statement and "RETURNING" in statement for statement in prepared)


def test_a_ledger_whose_connection_was_lost_records_on_the_new_one(pg_settings: Settings) -> None:
    """The server ended the ledger's session (a restart, an admin): the send that met the dead
    connection fails, the ledger's next statements go over a new one, in autocommit still."""
    ingest_document(pg_settings, hf_json(hf_item("2611.70001", "Two-bit quantization", 40)), source_name="hf-daily",
                    now=THURSDAY)
    deliveries = claimed(pg_settings, "ann@example.org", "ben@example.org")
    with session_scope(pg_settings) as session:
        paper_id = session.scalars(select(Paper.id)).one()
        subscribers = dict(session.execute(select(Subscriber.email, Subscriber.id)).all())
    matches = [Match(paper_id, 1.0, Reasons(trending=True))]
    ledger = Ledger(get_engine(pg_settings))
    try:
        assert ledger.take(list(deliveries.values()), "token-1") == set(deliveries.values())
        ledger.sent(deliveries["ann@example.org"], subscribers["ann@example.org"], matches, "<ann>", FRIDAY_0800)
        pid = ledger.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with get_engine(pg_settings).connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(OperationalError):
            ledger.sent(deliveries["ben@example.org"], subscribers["ben@example.org"], matches, "<ben>", FRIDAY_0800)
        ledger.sent(deliveries["ben@example.org"], subscribers["ben@example.org"], matches, "<ben>", FRIDAY_0800)
        assert ledger.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
        assert ledger.conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
        new = ledger.conn.connection.driver_connection
    finally:
        ledger.close()
    # back in the pool as any other connection: transactions of the sessions that take it can roll back
    assert new is not None and not new.closed and new.autocommit is False
    with session_scope(pg_settings) as session:  # committed: seen from another session
        assert {m: p for m, p in session.execute(select(Delivery.message_id, Delivery.paper_ids))} == {
            "<ann>": [paper_id], "<ben>": [paper_id]}
