"""Bounce notifications: three formats parsed to events, and what one bounce does to a row.
Applying them with their audit rows is service.actions.bounces (tests/service/actions/test_bounces.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from service.storage.models import Subscriber
from service.subscribers.bounces import BounceEvent, BounceFormatError, count_bounce, parse_notification

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


@pytest.mark.parametrize(("kind", "soft_bounces", "outcome", "status"), [
    ("hard", 0, "suppressed", "suppressed"), ("complaint", 0, "suppressed", "suppressed"),
    ("soft", 0, "counted", "active"), ("soft", 2, "suppressed", "suppressed"),
])
def test_one_bounce_on_a_row(kind: str, soft_bounces: int, outcome: str, status: str) -> None:
    row = Subscriber(email="a@example.org", status="active", soft_bounces=soft_bounces)
    event = BounceEvent("a@example.org", kind, "550 gone", "generic")  # type: ignore[arg-type]
    assert count_bounce(row, event, NOW, soft_limit=3) == outcome
    assert (row.status, row.soft_bounces, row.updated_at) == (status, soft_bounces + (kind == "soft"), NOW)
    assert (row.suppressed_reason is None) == (status == "active")
