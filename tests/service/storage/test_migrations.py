"""Migrations run forwards and backwards on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from config.settings import Settings
from service.storage import migrate
from service.storage.db import get_engine
from service.storage.models import Base, is_search_object

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
