"""On PostgreSQL the ledger's statements are prepared once per connection (psycopg prepares a
query from its fifth execution), so recording a send is one round trip of a planned statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.digests.record import Ledger
from service.ingest.poll import ingest_document
from service.matching.records import Match, Reasons
from service.storage.db import get_engine, session_scope
from service.storage.migrate import upgrade
from service.storage.models import Paper, Subscriber
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
    assert any("WITH sent AS" in statement for statement in prepared)
    assert any("UPDATE deliveries SET status" in statement and "RETURNING" in statement for statement in prepared)
