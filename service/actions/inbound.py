"""What inbound mail does (``papermail inbound``, over SMTP, LMTP or a polled IMAP mailbox): a
bounce counts or suppresses, a complaint unsubscribes and suppresses, a mailto unsubscribes.

Every message leaves one audit row. A change is recorded as the webhook's are (``bounce.hard``,
``bounce.soft``, ``bounce.complaint`` with the row before and after) with the actor
``inbound:<channel>``, and an unsubscribe as the reader's own (``service.actions.readers``);
a message that changes nothing is recorded as an ``inbound.<kind>`` event saying why. An event
names no address: an unknown recipient may be anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from service.actions.bounces import BOUNCE_AUDITED, log_bounce
from service.actions.readers import unsubscribe
from service.admin import audit
from service.inbound.outcome import About, InboundOutcome, Kind
from service.storage.models import Delivery, Subscriber
from service.subscribers.bounces import BounceEvent, count_bounce
from service.subscribers.bounces import Kind as BounceKind  # hard | soft | complaint
from service.subscribers.store import InvalidSubscriber, find_by_email, normalise_email

Result = Literal[
    "suppressed", "counted", "unsubscribed", "already_suppressed", "already_unsubscribed",
    "unknown_subscriber", "revoked_link", "erased", "ignored",
]
COMPLAINT_AUDITED = (*BOUNCE_AUDITED, "unsubscribed_at")


@dataclass(frozen=True)
class InboundResult:
    kind: Kind
    result: Result
    subscriber_id: int | None
    reason: str

    def line(self) -> str:
        who = f"subscriber {self.subscriber_id}" if self.subscriber_id is not None else "no subscriber"
        return f"{self.kind} ({who}): {self.result.replace('_', ' ')} - {self.reason}"


def find_subscriber(session: Session, about: About) -> Subscriber | None:
    """The subscriber a message is about, by what it carried."""
    if about.subscriber_id is not None:
        return session.get(Subscriber, about.subscriber_id)
    if about.delivery_id is not None:
        delivery = session.get(Delivery, about.delivery_id)
        return session.get(Subscriber, delivery.subscriber_id) if delivery is not None else None
    if about.address:
        try:
            return find_by_email(session, normalise_email(about.address))
        except InvalidSubscriber:
            return None
    return None


def _event(session: Session, actor: str, outcome: InboundOutcome, result: Result,
           subscriber: Subscriber | None) -> InboundResult:
    target = subscriber.id if subscriber is not None else None
    after: dict[str, str | None] = {"result": result, "source": outcome.source,
                                    "via": outcome.about.via if outcome.about else None}
    if target is not None:  # a reason may quote the address; only a subscriber's own row may hold it
        after["reason"] = outcome.reason
    audit.record(session, actor, f"inbound.{outcome.kind}", "subscriber", target, None, after)
    if outcome.kind in ("hard", "soft", "complaint"):  # the bounce log keeps every one, even those that change nothing
        _log(session, actor, outcome, result, subscriber)
    return InboundResult(outcome.kind, result, target, outcome.reason)


def _log(session: Session, actor: str, outcome: InboundOutcome, result: str, subscriber: Subscriber | None) -> None:
    about = outcome.about
    address = subscriber.email if subscriber is not None else (about.address if about and about.address else "")
    log_bounce(session, kind=outcome.kind, address=address, source="inbound", detail=actor.partition(":")[2],
               diagnostic=outcome.reason, outcome=result, subscriber_id=subscriber.id if subscriber else None,
               delivery_id=about.delivery_id if about and subscriber is not None else None)  # a found row: its FK holds


def _bounce(session: Session, actor: str, outcome: InboundOutcome, subscriber: Subscriber, now: datetime,
            soft_limit: int) -> InboundResult:
    complaint = outcome.kind == "complaint"
    fields = COMPLAINT_AUDITED if complaint else BOUNCE_AUDITED
    before = audit.snapshot(subscriber, fields)
    kind: BounceKind = "complaint" if complaint else "hard" if outcome.kind == "hard" else "soft"
    counted = count_bounce(subscriber, BounceEvent(subscriber.email, kind, outcome.reason, "inbound"), now,
                           soft_limit)
    if complaint and subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now  # the reader asked (loudly) to get no more: RFC 5965
    after = {**audit.snapshot(subscriber, fields), "via": outcome.about.via if outcome.about else None}
    audit.record(session, actor, f"bounce.{kind}", "subscriber", subscriber.id, before, after)
    result: Result = "counted" if counted == "counted" else "suppressed"
    _log(session, actor, outcome, result, subscriber)
    return InboundResult(outcome.kind, result, subscriber.id, outcome.reason)


def apply_inbound(session: Session, outcome: InboundOutcome, *, channel: str, now: datetime,
                  soft_limit: int) -> InboundResult:
    """Apply one classified inbound message (``service.inbound.classify``); CHANNEL names the
    way it came (smtp, lmtp, imap) in the audit actor."""
    actor = f"inbound:{channel}"
    if outcome.kind == "unknown" or outcome.about is None:
        return _event(session, actor, outcome, "ignored" if outcome.kind == "unknown" else "unknown_subscriber", None)
    subscriber = find_subscriber(session, outcome.about)
    if subscriber is None:
        return _event(session, actor, outcome, "unknown_subscriber", None)
    if subscriber.status == "erased":
        return _event(session, actor, outcome, "erased", subscriber)
    if outcome.kind == "unsubscribe":
        if outcome.about.token_version != subscriber.token_version:
            return _event(session, actor, outcome, "revoked_link", subscriber)
        if unsubscribe(session, subscriber, now):  # writes the reader's own audit row
            return InboundResult(outcome.kind, "unsubscribed", subscriber.id, outcome.reason)
        already: Result = "already_suppressed" if subscriber.status == "suppressed" else "already_unsubscribed"
        return _event(session, actor, outcome, already, subscriber)
    if subscriber.status == "suppressed":
        return _event(session, actor, outcome, "already_suppressed", subscriber)
    return _bounce(session, actor, outcome, subscriber, now, soft_limit)
