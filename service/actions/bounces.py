"""Bounces and complaints, and their suppressions: a provider's notification (the webhook), a
5xx during a digest send (the workers), a bounce or complaint mailed back (inbound), and an
admin lifting a suppression.

Every bounce and complaint, whatever it changes, leaves one ``bounces`` row (``log_bounce``):
the operator's log at /admin/bounces and the subscriber's history. Each path here writes it;
``service.actions.inbound`` calls ``log_bounce`` for the mail it applies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Bounce, Subscriber, utcnow
from service.subscribers.bounces import BounceEvent, EventResult, count_bounce
from service.subscribers.store import InvalidSubscriber, find_by_email, normalise_email

BOUNCE_AUDITED = ("status", "soft_bounces", "suppressed_reason")
SOURCES = ("smtp", "webhook", "inbound")
MAX_DIAGNOSTIC_CHARS = 4000


def log_bounce(session: Session, *, kind: str, address: str, source: str, outcome: str, diagnostic: str = "",
               detail: str = "", subscriber_id: int | None = None, delivery_id: int | None = None,
               at: datetime | None = None) -> Bounce:
    """One row of the bounce log. KIND hard | soft | complaint; SOURCE one of SOURCES; OUTCOME
    what it did (suppressed, counted, already_suppressed, unknown_address, ...)."""
    if source not in SOURCES:
        raise ValueError(f"source: {source!r} is not one of {', '.join(SOURCES)}")
    row = Bounce(at=at or utcnow(), kind=kind[:16], address=address[:320], source=source, detail=detail[:32],
                 diagnostic=diagnostic[:MAX_DIAGNOSTIC_CHARS], outcome=outcome[:32], subscriber_id=subscriber_id,
                 delivery_id=delivery_id)
    session.add(row)
    return row


def apply_event(session: Session, event: BounceEvent, now: datetime, soft_limit: int) -> EventResult:
    """One notified bounce or complaint; the actor is the webhook format it came in."""
    result, subscriber_id = _apply(session, event, now, soft_limit)
    log_bounce(session, kind=event.kind, address=result.address, source="webhook", detail=event.format,
               diagnostic=event.reason, outcome=result.outcome, subscriber_id=subscriber_id, at=now)
    return result


def _apply(session: Session, event: BounceEvent, now: datetime, soft_limit: int) -> tuple[EventResult, int | None]:
    try:
        address = normalise_email(event.address)
    except InvalidSubscriber:
        return EventResult(event.address, event.kind, "invalid_address"), None
    subscriber = find_by_email(session, address)
    if subscriber is None:
        return EventResult(address, event.kind, "unknown_address"), None
    if subscriber.status == "suppressed":
        return EventResult(address, event.kind, "already_suppressed"), subscriber.id
    before = audit.snapshot(subscriber, BOUNCE_AUDITED)
    outcome = count_bounce(subscriber, event, now, soft_limit)
    audit.record(session, f"webhook:{event.format}", f"bounce.{event.kind}", "subscriber", subscriber.id, before,
                 audit.snapshot(subscriber, BOUNCE_AUDITED))
    return EventResult(address, event.kind, outcome), subscriber.id


def apply_events(session: Session, events: list[BounceEvent], now: datetime, soft_limit: int = 5) -> list[EventResult]:
    return [apply_event(session, event, now, soft_limit) for event in events]


def suppress_after_hard_bounce(session: Session, subscriber_id: int, reason: str, *, delivery_id: int | None = None,
                               now: datetime | None = None) -> None:
    """The SMTP server refused a digest for good (5xx): no more digests to this address.
    One UPDATE, no ORM load: the sender's batch holds its own copies of the rows."""
    address = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id)) or ""
    session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(status="suppressed", suppressed_reason=reason),
        execution_options={"synchronize_session": False},
    )
    audit.record(session, "system", "suppress", "subscriber", subscriber_id, {"status": "active"},
                 {"status": "suppressed", "reason": reason})
    log_bounce(session, kind="hard", address=address, source="smtp", detail="digest", diagnostic=reason,
               outcome="suppressed", subscriber_id=subscriber_id, delivery_id=delivery_id, at=now)


def lift_suppression(session: Session, subscriber: Subscriber, actor: str, now: datetime) -> None:
    """Back to active (or pending if never confirmed); the bounce count starts again."""
    before = audit.snapshot(subscriber, BOUNCE_AUDITED)
    subscriber.status = "active" if subscriber.confirmed_at is not None else "pending"
    subscriber.suppressed_reason = None
    subscriber.soft_bounces = 0
    subscriber.updated_at = now
    audit.record(session, actor, "subscriber.lift_suppression", "subscriber", subscriber.id, before,
                 audit.snapshot(subscriber, BOUNCE_AUDITED))

