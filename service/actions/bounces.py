"""Bounces and their suppressions: a provider's notification (the webhook), a 5xx during a
digest send (the workers), and an admin lifting a suppression."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Subscriber
from service.subscribers.bounces import BounceEvent, EventResult, count_bounce
from service.subscribers.store import InvalidSubscriber, find_by_email, normalise_email

BOUNCE_AUDITED = ("status", "soft_bounces", "suppressed_reason")


def apply_event(session: Session, event: BounceEvent, now: datetime, soft_limit: int) -> EventResult:
    """One notified bounce or complaint; the actor is the webhook format it came in."""
    try:
        address = normalise_email(event.address)
    except InvalidSubscriber:
        return EventResult(event.address, event.kind, "invalid_address")
    subscriber = find_by_email(session, address)
    if subscriber is None:
        return EventResult(address, event.kind, "unknown_address")
    if subscriber.status == "suppressed":
        return EventResult(address, event.kind, "already_suppressed")
    before = audit.snapshot(subscriber, BOUNCE_AUDITED)
    outcome = count_bounce(subscriber, event, now, soft_limit)
    audit.record(session, f"webhook:{event.format}", f"bounce.{event.kind}", "subscriber", subscriber.id, before,
                 audit.snapshot(subscriber, BOUNCE_AUDITED))
    return EventResult(address, event.kind, outcome)


def apply_events(session: Session, events: list[BounceEvent], now: datetime, soft_limit: int = 5) -> list[EventResult]:
    return [apply_event(session, event, now, soft_limit) for event in events]


def suppress_after_hard_bounce(session: Session, subscriber_id: int, reason: str) -> None:
    """The SMTP server refused a digest for good (5xx): no more digests to this address.
    One UPDATE, no ORM load: the sender's batch holds its own copies of the rows."""
    session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(status="suppressed", suppressed_reason=reason),
        execution_options={"synchronize_session": False},
    )
    audit.record(session, "system", "suppress", "subscriber", subscriber_id, {"status": "active"},
                 {"status": "suppressed", "reason": reason})


def lift_suppression(session: Session, subscriber: Subscriber, actor: str, now: datetime) -> None:
    """Back to active (or pending if never confirmed); the bounce count starts again."""
    before = audit.snapshot(subscriber, BOUNCE_AUDITED)
    subscriber.status = "active" if subscriber.confirmed_at is not None else "pending"
    subscriber.suppressed_reason = None
    subscriber.soft_bounces = 0
    subscriber.updated_at = now
    audit.record(session, actor, "subscriber.lift_suppression", "subscriber", subscriber.id, before,
                 audit.snapshot(subscriber, BOUNCE_AUDITED))
