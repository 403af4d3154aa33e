"""An operator's subscriber actions: each change writes exactly one audit row with what changed,
a refused one writes nothing and changes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.subscribers import (
    SubscriberErased,
    add_subscriber,
    change_subscriber_status,
    edit_subscriber,
    import_subscribers,
    note_export,
    note_test_digest,
    resend_confirmation_mail,
)
from service.storage import migrate
from service.storage.db import session_factory, session_scope
from service.storage.models import AuditLog, Subscriber
from service.subscribers.csv_format import parse_rows
from service.subscribers.lifecycle import Mail
from service.subscribers.preferences import Preferences
from service.subscribers.store import DuplicateSubscriber, InvalidSubscriber

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
LATER_STILL = timedelta(minutes=5)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    migrate.upgrade(settings)
    with session_factory(settings)() as session:
        yield session


def log(session: Session) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def alice(session: Session, *, confirmed: bool = True) -> Subscriber:
    return add_subscriber(session, "Alice@Example.org", Preferences(topics=("llm",)), confirmed=confirmed,
                          actor="api:crm", now=NOW)


@pytest.mark.integration
def test_add_writes_one_row_with_the_new_subscriber(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        subscriber = alice(session, confirmed=False)
        sid = subscriber.id
    with session_scope(db_settings) as session:
        [entry] = log(session)
        assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
            "api:crm", "subscriber.create", "subscriber", str(sid))
        assert entry.before is None
        assert entry.after is not None
        assert (entry.after["email"], entry.after["status"], entry.after["confirmed_at"]) == (
            "alice@example.org", "pending", None)
        assert entry.after["preferences"]["topics"] == ["llm"]


def test_a_refused_add_writes_nothing(session: Session) -> None:
    alice(session)
    with pytest.raises(DuplicateSubscriber):
        add_subscriber(session, "ALICE@example.org", Preferences(), confirmed=True, actor="cli", now=NOW)
    with pytest.raises(InvalidSubscriber):
        add_subscriber(session, "not an address", Preferences(), confirmed=True, actor="cli", now=NOW)
    assert [e.action for e in log(session)] == ["subscriber.create"]


def test_edit_logs_only_what_changed(session: Session) -> None:
    subscriber = alice(session)
    edit_subscriber(session, subscriber, email="alice.new@example.org", actor="root@example.org", now=LATER)
    entry = log(session)[-1]
    assert (entry.action, entry.actor) == ("subscriber.update", "root@example.org")
    assert (entry.before, entry.after) == ({"email": "alice@example.org"}, {"email": "alice.new@example.org"})
    edit_subscriber(session, subscriber, prefs=Preferences(topics=("agents",)), actor="api:crm", now=LATER + LATER_STILL)
    entry = log(session)[-1]
    assert set(entry.after or {}) == {"preferences"} and entry.after["preferences"]["topics"] == ["agents"]  # type: ignore[index]
    assert subscriber.updated_at == LATER + LATER_STILL


def test_edit_to_a_taken_address_changes_nothing(session: Session) -> None:
    subscriber = alice(session)
    add_subscriber(session, "bob@example.org", Preferences(), confirmed=True, actor="cli", now=NOW)
    with pytest.raises(DuplicateSubscriber):
        edit_subscriber(session, subscriber, email="Bob@Example.org", prefs=Preferences(), actor="cli", now=LATER)
    assert (subscriber.email, subscriber.preferences["topics"], subscriber.updated_at) == (
        "alice@example.org", ["llm"], NOW)
    assert len(log(session)) == 2  # the two creates


def test_status_changes_are_one_action_for_every_caller(session: Session) -> None:
    subscriber = alice(session, confirmed=False)
    assert change_subscriber_status(session, subscriber, "suppressed", actor="api:crm", now=LATER,
                                    reason="asked by phone")
    assert change_subscriber_status(session, subscriber, "active", actor="root@example.org", now=LATER)
    assert not change_subscriber_status(session, subscriber, "active", actor="root@example.org", now=LATER)
    entries = log(session)[1:]
    assert [(e.action, e.actor) for e in entries] == [("subscriber.status.suppressed", "api:crm"),
                                                      ("subscriber.status.active", "root@example.org")]
    assert entries[0].after == {"status": "suppressed", "suppressed_reason": "asked by phone"}
    # Leaving "suppressed" lifts it, and the operator attests consent for a never-confirmed address.
    assert entries[1].before == {"status": "suppressed", "suppressed_reason": "asked by phone", "confirmed_at": None}
    assert entries[1].after is not None and entries[1].after["confirmed_at"] == LATER.isoformat()


def test_a_new_suppression_reason_is_a_change(session: Session) -> None:
    subscriber = alice(session)
    change_subscriber_status(session, subscriber, "suppressed", actor="cli", now=LATER, reason="first")
    assert not change_subscriber_status(session, subscriber, "suppressed", actor="cli", now=LATER)
    assert change_subscriber_status(session, subscriber, "suppressed", actor="cli", now=LATER, reason="second")
    assert subscriber.suppressed_reason == "second" and len(log(session)) == 3


def test_erased_is_not_a_status_and_a_tombstone_does_not_change(session: Session) -> None:
    subscriber = alice(session)
    with pytest.raises(ValueError, match="erased"):
        change_subscriber_status(session, subscriber, "erased", actor="cli", now=LATER)
    subscriber.status = "erased"
    with pytest.raises(SubscriberErased):
        change_subscriber_status(session, subscriber, "active", actor="cli", now=LATER)
    with pytest.raises(SubscriberErased):
        edit_subscriber(session, subscriber, prefs=Preferences(), actor="cli", now=LATER)
    assert len(log(session)) == 1


def test_resend_confirmation_only_to_a_pending_subscriber(session: Session) -> None:
    pending = alice(session, confirmed=False)
    assert resend_confirmation_mail(session, pending, actor="root@example.org", now=LATER) == Mail("confirm", pending.id)
    assert pending.confirmation_sent_at == LATER
    active = add_subscriber(session, "bob@example.org", Preferences(), confirmed=True, actor="cli", now=NOW)
    assert resend_confirmation_mail(session, active, actor="root@example.org", now=LATER) is None
    assert [e.action for e in log(session)] == ["subscriber.create", "subscriber.resend_confirmation",
                                               "subscriber.create"]


def test_events_without_a_change_are_recorded_once(session: Session) -> None:
    subscriber = alice(session)
    note_test_digest(session, subscriber, actor="root@example.org", to="root@example.org")
    note_export(session, actor="cli")
    test_digest, export = log(session)[1:]
    assert (test_digest.action, test_digest.target_id, test_digest.after) == (
        "subscriber.test_digest", str(subscriber.id), {"to": "root@example.org"})
    assert (export.action, export.actor, export.target_id, export.before, export.after) == (
        "subscribers.export", "cli", None, None, None)


def test_an_import_is_one_row_for_the_run_and_none_for_a_dry_run(settings: Settings) -> None:
    migrate.upgrade(settings)
    text = "email\nann@example.org\nben@example.org\nnot-an-address\n"

    def run(dry_run: bool) -> None:
        import_subscribers(settings, parse_rows(io.StringIO(text), set()), confirmed=True, dry_run=dry_run, now=NOW,
                           actor="cli", source_name="people.csv", batch_size=1)

    run(dry_run=True)
    with session_scope(settings) as session:
        assert log(session) == []
    run(dry_run=False)
    with session_scope(settings) as session:
        [entry] = log(session)
        assert (entry.action, entry.actor, entry.target_id) == ("subscribers.import", "cli", None)
        assert entry.after == {"source": "people.csv", "confirmed": True, "imported": {"active": 2},
                               "skipped": {"invalid address": 1}}
