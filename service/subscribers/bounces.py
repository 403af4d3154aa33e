"""Bounce and complaint notifications: pure parsers for three formats, and their effect.

Formats (detected from the document itself):

- generic JSON: ``{"address": ..., "type": "hard"|"soft"|"complaint", "reason": ...}``, or a
  list of such objects, or ``{"events": [...]}``;
- Amazon SES through SNS: an SNS ``Notification`` whose ``Message`` is the SES notification
  (``notificationType``/``eventType`` Bounce or Complaint); also the bare SES notification
  (SNS raw message delivery). An SNS ``SubscriptionConfirmation`` is reported, not fetched:
  the admin confirms it by opening its SubscribeURL (no network call from here);
- Postmark bounce and spam-complaint webhooks (``Type`` HardBounce, SoftBounce, SpamComplaint...).

Effect (``count_bounce``; applied with its audit row by ``service.actions.bounces``): a hard
bounce or a complaint suppresses the address at once; soft bounces suppress once a subscriber
has ``soft_limit`` of them. The planner only takes ``active`` subscribers, so a suppressed
address is never mailed until an admin lifts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from service.storage.models import Subscriber

Kind = Literal["hard", "soft", "complaint"]
Outcome = Literal["suppressed", "counted", "already_suppressed", "unknown_address", "invalid_address"]

SES_BOUNCE_KINDS: dict[str, Kind] = {"Permanent": "hard", "Transient": "soft", "Undetermined": "soft"}
POSTMARK_KINDS: dict[str, Kind] = {
    "HardBounce": "hard", "BadEmailAddress": "hard", "ManuallyDeactivated": "hard",
    "SoftBounce": "soft", "Transient": "soft", "DnsError": "soft", "Blocked": "soft",
    "SpamComplaint": "complaint", "SpamNotification": "complaint",
}
MAX_EVENTS = 1000
MAX_REASON_CHARS = 500


class BounceFormatError(ValueError):
    """The body is not a notification papermail understands: one line, for a 400."""


@dataclass(frozen=True, slots=True)
class BounceEvent:
    address: str
    kind: Kind
    reason: str
    format: str  # generic | ses | postmark


@dataclass
class ParsedNotification:
    format: str
    events: list[BounceEvent] = field(default_factory=list)
    # Something to tell the admin instead (an SNS subscription to confirm, an ignored type).
    notice: str | None = None


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:MAX_REASON_CHARS] if value not in (None, "") else ""


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BounceFormatError(f"{where}: no address")
    return value.strip()


def parse_generic(item: Any, where: str = "body") -> BounceEvent:
    if not isinstance(item, dict):
        raise BounceFormatError(f"{where}: expected an object with address, type and reason")
    kind = item.get("type")
    if kind not in ("hard", "soft", "complaint"):
        raise BounceFormatError(f"{where}.type: must be hard, soft or complaint")
    return BounceEvent(_address(item.get("address"), f"{where}.address"), kind, _text(item.get("reason")), "generic")


def parse_ses_message(message: Any) -> ParsedNotification:
    if not isinstance(message, dict):
        raise BounceFormatError("SES message: expected a JSON object")
    kind = message.get("notificationType") or message.get("eventType")
    parsed = ParsedNotification("ses")
    if kind == "Bounce":
        bounce = message.get("bounce")
        if not isinstance(bounce, dict) or not isinstance(bounce.get("bouncedRecipients"), list):
            raise BounceFormatError("SES bounce: no bouncedRecipients")
        mapped = SES_BOUNCE_KINDS.get(str(bounce.get("bounceType")), "soft")
        for i, recipient in enumerate(bounce["bouncedRecipients"]):
            if not isinstance(recipient, dict):
                raise BounceFormatError(f"SES bounce: recipient {i + 1} is not an object")
            reason = _text(recipient.get("diagnosticCode")) or _text(
                f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')} {recipient.get('status') or ''}")
            parsed.events.append(BounceEvent(_address(recipient.get("emailAddress"), f"SES recipient {i + 1}"),
                                             mapped, reason, "ses"))
    elif kind == "Complaint":
        complaint = message.get("complaint")
        if not isinstance(complaint, dict) or not isinstance(complaint.get("complainedRecipients"), list):
            raise BounceFormatError("SES complaint: no complainedRecipients")
        reason = _text(f"complaint {complaint.get('complaintFeedbackType') or ''}")
        for i, recipient in enumerate(complaint["complainedRecipients"]):
            if not isinstance(recipient, dict):
                raise BounceFormatError(f"SES complaint: recipient {i + 1} is not an object")
            parsed.events.append(BounceEvent(_address(recipient.get("emailAddress"), f"SES recipient {i + 1}"),
                                             "complaint", reason, "ses"))
    elif isinstance(kind, str):
        parsed.notice = f"SES {kind} notification ignored"
    else:
        raise BounceFormatError("SES message: no notificationType")
    return parsed


def parse_sns(envelope: dict[str, Any]) -> ParsedNotification:
    kind = envelope.get("Type")
    if kind == "SubscriptionConfirmation":
        url = _text(envelope.get("SubscribeURL"))
        return ParsedNotification("ses", notice=f"SNS subscription confirmation for {envelope.get('TopicArn')}: "
                                                f"confirm it by opening {url}")
    if kind == "UnsubscribeConfirmation":
        return ParsedNotification("ses", notice=f"SNS unsubscribe confirmation for {envelope.get('TopicArn')}")
    if kind != "Notification":
        raise BounceFormatError(f"SNS message of unknown Type {kind!r}")
    message = envelope.get("Message")
    try:
        inner = json.loads(message) if isinstance(message, str) else message
    except ValueError:
        raise BounceFormatError("SNS Notification: Message is not JSON") from None
    return parse_ses_message(inner)


def parse_postmark(item: dict[str, Any]) -> ParsedNotification:
    kind = str(item.get("Type") or item.get("RecordType"))
    mapped = POSTMARK_KINDS.get(kind)
    if mapped is None:
        return ParsedNotification("postmark", notice=f"Postmark {kind} notification ignored")
    reason = _text(item.get("Description")) or _text(item.get("Details")) or kind
    event = BounceEvent(_address(item.get("Email"), "Email"), mapped, reason, "postmark")
    return ParsedNotification("postmark", [event])


def parse_notification(body: bytes) -> ParsedNotification:
    """Detect the format of BODY and read its events; BounceFormatError when it is none of them."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BounceFormatError("the body is not JSON") from None
    if isinstance(document, dict) and "events" in document and isinstance(document["events"], list):
        document = document["events"]
    if isinstance(document, list):
        if not document or len(document) > MAX_EVENTS:
            raise BounceFormatError(f"expected 1 to {MAX_EVENTS} events")
        return ParsedNotification("generic", [parse_generic(item, f"events[{i}]") for i, item in enumerate(document)])
    if not isinstance(document, dict):
        raise BounceFormatError("expected a JSON object")
    if "TopicArn" in document or document.get("Type") in ("Notification", "SubscriptionConfirmation"):
        return parse_sns(document)
    if "notificationType" in document or "eventType" in document:
        return parse_ses_message(document)
    if "RecordType" in document or ("Type" in document and "Email" in document):
        return parse_postmark(document)
    return ParsedNotification("generic", [parse_generic(document)])


@dataclass(frozen=True, slots=True)
class EventResult:
    address: str
    kind: Kind
    outcome: Outcome


def count_bounce(subscriber: Subscriber, event: BounceEvent, now: datetime, soft_limit: int) -> Outcome:
    """Pure: the columns one bounce sets on a subscriber not suppressed yet, and the outcome."""
    outcome: Outcome = "suppressed"
    if event.kind == "soft":
        subscriber.soft_bounces += 1
        if subscriber.soft_bounces < soft_limit:
            outcome = "counted"
        else:
            subscriber.status = "suppressed"
            subscriber.suppressed_reason = f"{subscriber.soft_bounces} soft bounces (last: {event.reason})"
    else:
        subscriber.status = "suppressed"
        subscriber.suppressed_reason = f"{'complaint' if event.kind == 'complaint' else 'hard bounce'}: {event.reason}"
    subscriber.updated_at = now
    return outcome
