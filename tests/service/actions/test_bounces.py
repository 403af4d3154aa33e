"""Bounce actions: a notified hard bounce or complaint suppresses at once, soft ones after the
limit, each with one audit row named for the webhook; a 5xx during a send suppresses (actor
"system"); an admin lifts a suppression."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.bounces import apply_events, lift_suppression, suppress_after_hard_bounce
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.subscribers.bounces import BounceEvent

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


def subscriber(settings: Settings, email: str, status: str = "active") -> int:
    with session_scope(settings) as session:
        row = Subscriber(email=email, status=status, confirmed_at=NOW)
        session.add(row)
        session.flush()
        return row.id


def state(settings: Settings, subscriber_id: int) -> tuple[str, int, str | None]:
    with session_scope(settings) as session:
        row = session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status, row.soft_bounces, row.suppressed_reason


def test_apply_suppresses_hard_and_complaint_counts_soft(settings: Settings) -> None:
    migrate.upgrade(settings)
    alice, bob, carol = (subscriber(settings, f"{n}@example.org") for n in ("alice", "bob", "carol"))
    events = [BounceEvent("Alice@Example.org", "hard", "550 unknown user", "generic"),
              BounceEvent("bob@example.org", "complaint", "abuse", "ses"),
              BounceEvent("nobody@example.org", "hard", "x", "generic"),
              BounceEvent("not an address", "hard", "x", "generic")]
    with session_scope(settings) as session:
        outcomes = [r.outcome for r in apply_events(session, events, NOW)]
    assert outcomes == ["suppressed", "suppressed", "unknown_address", "invalid_address"]
    assert state(settings, alice) == ("suppressed", 0, "hard bounce: 550 unknown user")
    assert state(settings, bob)[0] == "suppressed" and state(settings, bob)[2].startswith("complaint")  # type: ignore[union-attr]

    soft = BounceEvent("carol@example.org", "soft", "mailbox full", "postmark")
    for expected in (1, 2):
        with session_scope(settings) as session:
            assert apply_events(session, [soft], NOW, soft_limit=3)[0].outcome == "counted"
        assert state(settings, carol) == ("active", expected, None)
    with session_scope(settings) as session:
        assert apply_events(session, [soft], NOW, soft_limit=3)[0].outcome == "suppressed"
        assert apply_events(session, [soft], NOW, soft_limit=3)[0].outcome == "already_suppressed"
    assert state(settings, carol) == ("suppressed", 3, "3 soft bounces (last: mailbox full)")
    with session_scope(settings) as session:
        assert session.query(AuditLog).filter(AuditLog.actor.like("webhook:%")).count() == 5


def test_lifting_a_suppression(settings: Settings) -> None:
    migrate.upgrade(settings)
    alice = subscriber(settings, "alice@example.org", status="suppressed")
    with session_scope(settings) as session:
        row = session.get(Subscriber, alice)
        assert row is not None
        row.suppressed_reason, row.soft_bounces = "5 soft bounces", 5
        lift_suppression(session, row, "admin@example.org", NOW)
    assert state(settings, alice) == ("active", 0, None)
    with session_scope(settings) as session:
        entry = session.query(AuditLog).filter_by(action="subscriber.lift_suppression").one()
        assert entry.before == {"status": "suppressed", "soft_bounces": 5, "suppressed_reason": "5 soft bounces"}


@pytest.mark.integration
def test_a_5xx_during_a_send_suppresses_with_one_system_row(db_settings: Settings) -> None:
    alice = subscriber(db_settings, "alice@example.org")
    with session_scope(db_settings) as session:
        suppress_after_hard_bounce(session, alice, "hard bounce: 550 5.1.1 no such user")
    assert state(db_settings, alice) == ("suppressed", 0, "hard bounce: 550 5.1.1 no such user")
    with session_scope(db_settings) as session:
        entry = session.scalars(select(AuditLog)).one()
        assert (entry.actor, entry.action, entry.target_id) == ("system", "suppress", str(alice))
        assert (entry.before, entry.after) == ({"status": "active"},
                                               {"status": "suppressed", "reason": "hard bounce: 550 5.1.1 no such user"})
