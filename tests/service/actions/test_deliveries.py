"""Retrying a digest: only a failed one to an active subscriber, as a fresh claim, one audit row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.deliveries import RetryRefused, retry_delivery
from service.storage.db import session_scope
from service.storage.models import AuditLog, Delivery, Subscriber

pytestmark = pytest.mark.integration  # both databases
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def delivery(settings: Settings, status: str, subscriber_status: str = "active") -> int:
    with session_scope(settings) as session:
        subscriber = Subscriber(email=f"{status}.{subscriber_status}@example.org", status=subscriber_status)
        session.add(subscriber)
        session.flush()
        row = Delivery(subscriber_id=subscriber.id, period="2026-11-26", status=status, attempts=6,
                       error="451 try later")
        session.add(row)
        session.flush()
        return row.id


def test_a_failed_digest_is_claimed_again(db_settings: Settings) -> None:
    delivery_id = delivery(db_settings, "failed")
    with session_scope(db_settings) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        retry_delivery(session, row, actor="api:ops", now=NOW)
    with session_scope(db_settings) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and (row.status, row.attempts) == ("claimed", 0)
        [entry] = session.scalars(select(AuditLog)).all()
        assert (entry.action, entry.actor, entry.target_type, entry.target_id) == (
            "delivery.retry", "api:ops", "delivery", str(delivery_id))
        assert entry.before == {"status": "failed", "attempts": 6, "error": "451 try later"}
        assert entry.after == {"status": "claimed", "attempts": 0, "error": "451 try later"}


@pytest.mark.parametrize(("status", "subscriber_status", "what"), [
    ("sent", "active", "delivery"), ("claimed", "active", "delivery"), ("failed", "paused", "subscriber"),
])
def test_anything_else_is_refused_unchanged(db_settings: Settings, status: str, subscriber_status: str,
                                            what: str) -> None:
    delivery_id = delivery(db_settings, status, subscriber_status)
    with session_scope(db_settings) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        with pytest.raises(RetryRefused) as refused:
            retry_delivery(session, row, actor="api:ops", now=NOW)
        assert (refused.value.what, row.status, row.attempts) == (what, status, 6)
        assert refused.value.status == (status if what == "delivery" else subscriber_status)
        assert session.scalars(select(AuditLog)).all() == []
