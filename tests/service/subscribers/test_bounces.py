"""Bounce notifications: three formats parsed to events; hard/complaint suppress at once,
soft ones after the limit; suppression is lifted by an admin."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from config.settings import Settings
from service.storage import migrate
from service.subscribers.bounces import BounceEvent, BounceFormatError, apply_events, lift_suppression, parse_notification
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


def sns(message: dict[str, object]) -> bytes:
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:1:bounces",
                       "Message": json.dumps(message), "Timestamp": "2026-11-27T08:00:00.000Z"}).encode()


def ses_bounce(kind: str, *addresses: str) -> dict[str, object]:
    return {"notificationType": "Bounce", "bounce": {
        "bounceType": kind, "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": a, "status": "5.1.1", "diagnosticCode": f"smtp; 550 5.1.1 <{a}> unknown"}
                              for a in addresses]}, "mail": {"messageId": "x"}}


def test_generic_single_list_and_events() -> None:
    one = parse_notification(b'{"address": "a@example.org", "type": "hard", "reason": "no such user"}')
    assert one.events == [BounceEvent("a@example.org", "hard", "no such user", "generic")]
    many = parse_notification(json.dumps([{"address": "a@example.org", "type": "soft"},
                                          {"address": "b@example.org", "type": "complaint"}]).encode())
    assert [(e.address, e.kind) for e in many.events] == [("a@example.org", "soft"), ("b@example.org", "complaint")]
    wrapped = parse_notification(b'{"events": [{"address": "c@example.org", "type": "soft"}]}')
    assert wrapped.events[0].address == "c@example.org"


def test_ses_through_sns() -> None:
    hard = parse_notification(sns(ses_bounce("Permanent", "a@example.org", "b@example.org")))
    assert [(e.address, e.kind, e.format) for e in hard.events] == [
        ("a@example.org", "hard", "ses"), ("b@example.org", "hard", "ses")]
    assert "550 5.1.1" in hard.events[0].reason
    assert parse_notification(sns(ses_bounce("Transient", "a@example.org"))).events[0].kind == "soft"
    complaint = parse_notification(sns({"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "c@example.org"}], "complaintFeedbackType": "abuse"}}))
    assert [(e.address, e.kind) for e in complaint.events] == [("c@example.org", "complaint")]
    # Raw message delivery: the SES notification without the SNS envelope.
    assert parse_notification(json.dumps(ses_bounce("Permanent", "d@example.org")).encode()).events[0].kind == "hard"
    delivery = parse_notification(sns({"notificationType": "Delivery", "delivery": {}}))
    assert delivery.events == [] and "ignored" in (delivery.notice or "")


def test_sns_subscription_confirmation_is_reported_not_fetched() -> None:
    body = json.dumps({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:eu-west-1:1:bounces",
                       "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
                       "Token": "t", "Message": "You have chosen to subscribe..."}).encode()
    parsed = parse_notification(body)
    assert parsed.events == []
    assert "ConfirmSubscription" in (parsed.notice or "")


def test_postmark() -> None:
    hard = parse_notification(json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1,
                                          "Email": "a@example.org", "Description": "Unable to deliver"}).encode())
    assert [(e.address, e.kind, e.format) for e in hard.events] == [("a@example.org", "hard", "postmark")]
    soft = parse_notification(b'{"RecordType": "Bounce", "Type": "SoftBounce", "Email": "a@example.org"}')
    assert soft.events[0].kind == "soft"
    spam = parse_notification(b'{"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "b@example.org"}')
    assert spam.events[0].kind == "complaint"
    auto = parse_notification(b'{"RecordType": "Bounce", "Type": "AutoResponder", "Email": "c@example.org"}')
    assert auto.events == [] and "AutoResponder" in (auto.notice or "")


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b"42", b'"text"', b'{"address": "a@example.org"}',
    b'{"address": "a@example.org", "type": "x"}',
    b'{"type": "hard"}', b'{"Type": "Notification", "TopicArn": "t", "Message": "not json"}',
    b'{"notificationType": "Bounce", "bounce": {}}', b'{"Type": "Weird", "TopicArn": "t"}',
    b'{"RecordType": "Bounce", "Type": "HardBounce"}', b"\xff\xfe",
])
def test_malformed_bodies_raise_one_error(body: bytes) -> None:
    with pytest.raises(BounceFormatError):
        parse_notification(body)


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
