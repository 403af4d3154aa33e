"""Migrations run forwards and backwards on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, inspect, select

from config.settings import Settings
from service.storage import migrate
from service.ingest.poll import ingest_document
from service.storage.db import get_engine, session_scope
from service.storage.models import Base, Delivery, DeliveryPaper, Paper, Subscriber, is_search_object
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

TABLES = {
    "papers", "sources", "topics", "paper_topics", "subscribers", "deliveries",
    "delivery_papers", "admin_users", "api_tokens", "audit_log", "votes", "seeds", "bounces",
}


# SQLite's full-text search (migration 0005) is a virtual table with its shadow tables.
FTS5_TABLES = {"papers_fts", "papers_fts_data", "papers_fts_idx", "papers_fts_docsize", "papers_fts_config"}


def tables(settings: Settings) -> set[str]:
    return set(inspect(get_engine(settings)).get_table_names()) - {"alembic_version"}


def expected_tables(settings: Settings) -> set[str]:
    return TABLES | (FTS5_TABLES if settings.effective_database_url.startswith("sqlite") else set())


def schema_drift(settings: Settings) -> list[object]:
    with get_engine(settings).connect() as connection:
        opts = {"compare_type": True, "include_name": lambda name, _type, _parents: not is_search_object(name)}
        context = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(context, Base.metadata)


def test_upgrade_downgrade_upgrade(db_settings: Settings) -> None:
    assert tables(db_settings) == expected_tables(db_settings)
    assert migrate.is_up_to_date(db_settings)

    migrate.downgrade(db_settings, "base")
    assert tables(db_settings) == set()
    assert migrate.current_revision(db_settings) is None

    migrate.upgrade(db_settings)
    assert tables(db_settings) == expected_tables(db_settings)
    assert migrate.is_up_to_date(db_settings)


def test_migrations_match_the_models(db_settings: Settings) -> None:
    assert schema_drift(db_settings) == []


def test_delivery_claim_is_unique(db_settings: Settings) -> None:
    """The exactly-once gate lives in the schema, not only in code."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from service.storage.models import Delivery, Subscriber

    with Session(get_engine(db_settings)) as session:
        alice = Subscriber(email="alice@example.org")
        session.add(alice)
        session.flush()
        session.add(Delivery(subscriber_id=alice.id, period="2026-11-27"))
        session.flush()
        session.add(Delivery(subscriber_id=alice.id, period="2026-11-27"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_downgrading_past_0008_drops_rows_of_papers_deleted_by_hand_and_keeps_the_rest(db_settings: Settings) -> None:
    now = datetime(2026, 11, 27, 8, tzinfo=UTC)
    ingest_document(db_settings, hf_json(hf_item("2611.80001", "Kept", 3), hf_item("2611.80002", "Deleted", 2)),
                    source_name="hf-daily", now=now)
    with session_scope(db_settings) as session:
        reader = Subscriber(email="reader@example.org", status="active", created_at=now, updated_at=now)
        session.add(reader)
        session.flush()
        sent = Delivery(subscriber_id=reader.id, period="d1", status="sent", claimed_at=now, sent_at=now)
        session.add(sent)
        session.flush()
        papers = session.scalars(select(Paper).order_by(Paper.id)).all()
        session.add_all(DeliveryPaper(delivery_id=sent.id, paper_id=p.id, subscriber_id=reader.id, rank=rank)
                        for rank, p in enumerate(papers, start=1))
        session.flush()
        session.execute(delete(Paper).where(Paper.title == "Deleted"))  # by hand: nothing cascades since 0008
        session.commit()

    migrate.downgrade(db_settings, "0007")
    with session_scope(db_settings) as session:
        assert session.scalar(select(func.count()).select_from(DeliveryPaper)) == 1
    migrate.upgrade(db_settings)
    assert migrate.is_up_to_date(db_settings)
