"""What a reader does to their own subscription, without the web: what each state does,
throttles, tokens, revocation — and the audit trail each change leaves (and what leaves none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.readers import (
    confirm,
    request_address_change,
    request_new_links,
    request_subscription,
    resend_confirmation,
    resubscribe,
    save_preferences,
    set_paused,
    unsubscribe,
)
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog, Subscriber
from service.subscribers.lifecycle import AddressTaken, LinkError, Mail
from service.subscribers.preferences import Preferences
from service.subscribers.store import InvalidSubscriber, find_by_email
from service.subscribers.tokens import ExpiredToken, make_token

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(settings: Settings) -> Session:
    migrate.upgrade(settings)
    return session_factory(settings)()


def trail(session: Session) -> list[tuple[str, str]]:
    """(action, actor) of every audit row so far, oldest first."""
    return [(e.action, e.actor) for e in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def pending(session: Session, email: str = "bob@example.org", **prefs: object) -> Subscriber:
    mail = request_subscription(session, email, Preferences(**prefs), NOW)
    assert mail is not None and mail.kind == "confirm"
    subscriber = find_by_email(session, email.lower())
    assert subscriber is not None
    return subscriber


def active(session: Session, settings: Settings, email: str = "bob@example.org") -> Subscriber:
    subscriber = pending(session, email)
    confirm(session, settings, make_token(settings, "confirm", subscriber.id, subscriber.token_version), NOW)
    return subscriber


def test_new_address_is_pending_with_a_confirmation(session: Session) -> None:
    bob = pending(session, "Bob@Example.org", topics=("llm",))
    assert (bob.email, bob.status, bob.confirmation_sent_at) == ("bob@example.org", "pending", NOW)
    assert bob.preferences["topics"] == ["llm"]


def test_malformed_address_raises_before_writing(session: Session) -> None:
    with pytest.raises(InvalidSubscriber):
        request_subscription(session, "bob@", Preferences(), NOW)
    assert session.query(Subscriber).count() == 0


def test_pending_resend_throttle_and_latest_form_wins(session: Session) -> None:
    bob = pending(session)
    assert request_subscription(session, "bob@example.org", Preferences(topics=("agents",)), NOW + timedelta(minutes=9)) is None
    assert bob.preferences["topics"] == ["agents"]
    mail = request_subscription(session, "bob@example.org", Preferences(), NOW + timedelta(minutes=10))
    assert mail == Mail("confirm", bob.id)


def test_active_gets_already_mail_once_a_day_and_keeps_preferences(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    first = request_subscription(session, "bob@example.org", Preferences(topics=("robotics",)), NOW)
    assert first == Mail("already", bob.id)
    assert request_subscription(session, "bob@example.org", Preferences(), NOW + timedelta(hours=23)) is None
    assert request_subscription(session, "bob@example.org", Preferences(), NOW + timedelta(days=1)) == first
    assert bob.preferences["topics"] == [] and bob.status == "active"


def test_suppressed_gets_nothing(session: Session) -> None:
    bob = pending(session)
    bob.status = "suppressed"
    assert request_subscription(session, "bob@example.org", Preferences(), NOW + timedelta(days=2)) is None
    assert request_new_links(session, "bob@example.org", NOW + timedelta(days=2)) is None


def test_confirm_is_idempotent_and_sends_one_welcome(session: Session, settings: Settings) -> None:
    bob = pending(session)
    token = make_token(settings, "confirm", bob.id, bob.token_version)
    first = confirm(session, settings, token, NOW)
    assert (first.first_time, first.mail, bob.status, bob.confirmed_at) == (True, Mail("welcome", bob.id), "active", NOW)
    second = confirm(session, settings, token, NOW + timedelta(hours=1))
    assert (second.first_time, second.mail) == (False, None)


def test_confirm_expires_after_the_setting_and_can_be_renewed(session: Session, settings: Settings) -> None:
    import time_machine

    bob = pending(session)
    with time_machine.travel(NOW, tick=False):
        token = make_token(settings, "confirm", bob.id, bob.token_version)
    with time_machine.travel(NOW + timedelta(hours=settings.confirm_token_max_age_hours, seconds=1), tick=False):
        with pytest.raises(ExpiredToken):
            confirm(session, settings, token, NOW)
        assert resend_confirmation(session, settings, token, NOW + timedelta(hours=49)) == Mail("confirm", bob.id)
    forged = make_token(settings.model_copy(update={"secret_key": "x" * 40}), "confirm", bob.id, 1)
    with pytest.raises(LinkError):
        resend_confirmation(session, settings, forged, NOW + timedelta(hours=50))


def test_new_links_revoke_old_ones(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    version = bob.token_version
    assert request_new_links(session, "bob@example.org", NOW) == Mail("links", bob.id)
    assert bob.token_version == version + 1
    assert request_new_links(session, "nobody@example.org", NOW) is None


def test_address_change_moves_only_when_confirmed_and_revokes_links(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    assert request_address_change(session, bob, "Robert@Example.net", NOW) == Mail("change", bob.id)
    assert bob.email == "bob@example.org" and bob.pending_email == "robert@example.net"
    version = bob.token_version
    token = make_token(settings, "confirm", bob.id, version, e="robert@example.net")
    done = confirm(session, settings, token, NOW)
    assert done.address_changed and bob.email == "robert@example.net" and bob.token_version == version + 1


def test_address_change_to_a_taken_address_is_refused(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    active(session, settings, "carol@example.org")
    request_address_change(session, bob, "carol@example.org", NOW)
    token = make_token(settings, "confirm", bob.id, bob.token_version, e="carol@example.org")
    with pytest.raises(AddressTaken):
        confirm(session, settings, token, NOW)


def test_pause_resume_unsubscribe_resubscribe(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    assert set_paused(session, bob, True, NOW) and bob.status == "paused"
    assert not set_paused(session, bob, True, NOW)
    assert set_paused(session, bob, False, NOW) and bob.status == "active"
    assert unsubscribe(session, bob, NOW) and bob.status == "unsubscribed" and bob.unsubscribed_at == NOW
    assert not unsubscribe(session, bob, NOW)
    assert resubscribe(session, bob, NOW) is None and bob.status == "active"  # confirmed before: no new opt-in


def test_resubscribing_a_never_confirmed_address_asks_for_confirmation(session: Session) -> None:
    bob = pending(session)
    unsubscribe(session, bob, NOW)
    assert resubscribe(session, bob, NOW + timedelta(hours=1)) == Mail("confirm", bob.id)
    assert bob.status == "pending"


def test_each_change_leaves_one_row_named_for_the_reader_not_their_address(session: Session,
                                                                             settings: Settings) -> None:
    bob = active(session, settings, "Bob@Example.org")
    me = f"subscriber:{bob.id}"
    save_preferences(session, bob, Preferences(topics=("llm",)), NOW)
    set_paused(session, bob, True, NOW)
    set_paused(session, bob, False, NOW)
    unsubscribe(session, bob, NOW)
    resubscribe(session, bob, NOW)
    assert trail(session) == [("subscriber.subscribe", me), ("subscriber.confirm", me),
                              ("subscriber.preferences", me), ("subscriber.status.paused", me),
                              ("subscriber.status.active", me), ("subscriber.status.unsubscribed", me),
                              ("subscriber.status.active", me)]
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert rows[0].before is None and rows[0].after["email"] == "bob@example.org"  # type: ignore[index]
    assert rows[1].before == {"status": "pending", "confirmed_at": None}
    assert rows[2].before["preferences"]["topics"] == [] and rows[2].after["preferences"]["topics"] == ["llm"]  # type: ignore[index]
    assert all(row.target_type == "subscriber" and row.target_id == str(bob.id) for row in rows)


def test_what_changes_nothing_writes_nothing(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    token = make_token(settings, "confirm", bob.id, bob.token_version)
    before = trail(session)
    request_subscription(session, "bob@example.org", Preferences(topics=("robotics",)), NOW)  # the "already" mail
    confirm(session, settings, token, NOW + timedelta(hours=1))  # a second click
    set_paused(session, bob, False, NOW)  # not paused
    save_preferences(session, bob, Preferences(), NOW)  # the same preferences again
    assert trail(session) == before
    carol = pending(session, "carol@example.org")
    after_signup = trail(session)
    request_subscription(session, "carol@example.org", Preferences(), NOW + timedelta(minutes=1))  # throttled, same form
    assert trail(session) == after_signup and carol.status == "pending"


def test_links_and_address_changes_are_recorded(session: Session, settings: Settings) -> None:
    bob = active(session, settings)
    version = bob.token_version
    request_new_links(session, "bob@example.org", NOW)
    request_address_change(session, bob, "robert@example.net", NOW)
    confirm(session, settings, make_token(settings, "confirm", bob.id, bob.token_version, e="robert@example.net"), NOW)
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()[2:]
    assert [r.action for r in rows] == ["subscriber.new_links", "subscriber.request_email_change",
                                       "subscriber.confirm_email"]
    assert (rows[0].before, rows[0].after) == ({"token_version": version}, {"token_version": version + 1})
    assert rows[1].after == {"pending_email": "robert@example.net"}
    assert rows[2].after == {"email": "robert@example.net", "pending_email": None, "token_version": version + 2}
