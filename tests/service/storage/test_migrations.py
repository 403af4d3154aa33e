"""Migrations run forwards and backwards on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, inspect, select, text

from config.settings import Settings
from service.storage import migrate
from service.ingest.poll import ingest_document
from service.storage.db import get_engine, session_scope
from service.storage.models import Base, Delivery, Paper, Subscriber, is_search_object
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

TABLES = {
    "papers", "sources", "topics", "paper_topics", "subscribers", "deliveries",
    "admin_users", "api_tokens", "audit_log", "votes", "seeds", "bounces",
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
        papers = session.scalars(select(Paper).order_by(Paper.id)).all()
        session.add(Delivery(subscriber_id=reader.id, period="d1", status="sent", claimed_at=now, sent_at=now,
                             paper_ids=[p.id for p in papers], reasons=[{} for _ in papers]))
        session.flush()
        session.execute(delete(Paper).where(Paper.title == "Deleted"))  # by hand: nothing cascades since 0008
        session.commit()

    migrate.downgrade(db_settings, "0007")
    with session_scope(db_settings) as session:
        assert session.scalar(text("SELECT count(*) FROM delivery_papers")) == 1
    migrate.upgrade(db_settings)
    assert migrate.is_up_to_date(db_settings)


def delivery_paper_rows(settings: Settings) -> list[tuple[int, int, int, int, object]]:
    """delivery_papers as migration 0008 left it: (delivery, paper, subscriber, rank, reasons)."""
    with session_scope(settings) as session:
        rows = session.execute(text("SELECT delivery_id, paper_id, subscriber_id, rank, reasons FROM delivery_papers "
                                    "ORDER BY delivery_id, rank"))
        return [(d, p, s, r, json.loads(why) if isinstance(why, str) else why) for d, p, s, r, why in rows]


def test_0009_carries_each_digests_papers_and_reasons_both_ways(db_settings: Settings) -> None:
    now = datetime(2026, 11, 27, 8, tzinfo=UTC)
    ingest_document(db_settings, hf_json(*(hf_item(f"2611.8000{n}", f"Paper {n}", n) for n in range(1, 4))),
                    source_name="hf-daily", now=now)
    with session_scope(db_settings) as session:
        first, second, third = session.scalars(select(Paper.id).order_by(Paper.id)).all()
        reader = Subscriber(email="reader@example.org", status="active", created_at=now, updated_at=now)
        session.add(reader)
        session.flush()
        why = [{"score": 2.5, "terms": [{"term": "robot", "field": "title", "spans": [[0, 5]]}]}, {"score": 1.0}, {}]
        session.add_all([
            Delivery(subscriber_id=reader.id, period="d1", status="sent", sent_at=now, paper_ids=[third, first, second],
                     reasons=why),  # ranked against id order
            Delivery(subscriber_id=reader.id, period="d2", status="sent", sent_at=now, paper_ids=[second],
                     reasons=None),  # erased reasons
            Delivery(subscriber_id=reader.id, period="d3", status="sent", sent_at=now, paper_ids=[], reasons=[]),
            Delivery(subscriber_id=reader.id, period="d4", status="claimed"),
        ])
        session.flush()
        d1, d2, *_ = session.scalars(select(Delivery.id).order_by(Delivery.period)).all()
        sid = reader.id

    migrate.downgrade(db_settings, "0008")
    assert delivery_paper_rows(db_settings) == [
        (d1, third, sid, 1, why[0]), (d1, first, sid, 2, why[1]), (d1, second, sid, 3, {}), (d2, second, sid, 1, {}),
    ]
    with session_scope(db_settings) as session:  # rows of 0008's kind, in ranks of their own
        session.execute(text("UPDATE delivery_papers SET rank = 7 WHERE paper_id = :p"), {"p": first})

    migrate.upgrade(db_settings)
    with session_scope(db_settings) as session:
        rows = session.execute(select(Delivery.period, Delivery.paper_ids, Delivery.reasons, Delivery.last_paper_id)
                               .order_by(Delivery.period)).all()
    assert [tuple(r) for r in rows] == [
        ("d1", [third, second, first], [why[0], {}, why[1]], third),
        ("d2", [second], [{}], second),
        ("d3", None, None, None),  # no rows, nothing to carry: an empty digest reads the same
        ("d4", None, None, None),
    ]


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)  # SQLite compresses nothing
def test_0009_compresses_reasons_with_lz4_where_postgresql_has_it(db_settings: Settings) -> None:
    engine = get_engine(db_settings)
    with engine.connect() as connection:
        has_lz4 = connection.scalar(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                         "WHERE name = 'default_toast_compression'"))
        method = connection.scalar(text("SELECT attcompression FROM pg_attribute "
                                        "WHERE attrelid = 'deliveries'::regclass AND attname = 'reasons'"))
    assert method == ("l" if has_lz4 else "")
