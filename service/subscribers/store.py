"""Subscribers: addresses, stored preferences, and the schedule columns the planner reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import Subscriber
from service.subscribers.addresses import AddressRefused, deliverable_address
from service.subscribers.preferences import Preferences
from service.digests.schedule import WEEKDAYS

# "erased": personal data removed, the row kept as an anonymous tombstone for the counts.
STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed", "erased")


class InvalidSubscriber(ValueError):
    """Bad input for a subscriber: the message names the field."""


class DuplicateSubscriber(InvalidSubscriber):
    pass


def normalise_email(raw: str) -> str:
    """The address as stored, by the one rule every way in shares (service.subscribers.addresses:
    what the mail path can deliver). Raises InvalidSubscriber naming the field."""
    try:
        return deliverable_address(raw)
    except AddressRefused as exc:
        raise InvalidSubscriber(f"email: {exc}") from None


def parse_preferences(data: dict[str, Any], topics: set[str] | None) -> Preferences:
    """Validate preferences; the error names the first bad field in one line."""
    try:
        return Preferences.model_validate(data, context={"topics": topics} if topics is not None else None)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "preferences"
        raise InvalidSubscriber(f"{field}: {error['msg'].removeprefix('Value error, ')}") from None


def apply_preferences(subscriber: Subscriber, prefs: Preferences) -> None:
    """Store PREFS; the schedule is copied into columns so the planner never parses JSON."""
    subscriber.preferences = prefs.model_dump(mode="json")
    subscriber.timezone = prefs.timezone
    subscriber.send_hour = prefs.send_hour
    subscriber.frequency = prefs.frequency
    subscriber.weekly_day = WEEKDAYS.index(prefs.weekly_day)


def preferences_of(subscriber: Subscriber) -> Preferences:
    # No topic context: a topic an admin deleted since must not make a stored row unreadable.
    return Preferences.model_validate(subscriber.preferences or {})


def find_by_email(session: Session, email: str) -> Subscriber | None:
    return session.scalars(select(Subscriber).where(Subscriber.email == email)).one_or_none()


def create_subscriber(
    session: Session, email: str, prefs: Preferences, *, confirmed: bool, now: datetime
) -> Subscriber:
    address = normalise_email(email)
    if find_by_email(session, address) is not None:
        raise DuplicateSubscriber(f"email: {address} is already subscribed")
    subscriber = Subscriber(
        email=address,
        status="active" if confirmed else "pending",
        confirmed_at=now if confirmed else None,
        created_at=now,
        updated_at=now,
    )
    apply_preferences(subscriber, prefs)
    session.add(subscriber)
    session.flush()
    return subscriber


def change_status(subscriber: Subscriber, status: str, reason: str | None, now: datetime) -> None:
    """Pure: the columns a status change sets. Leaving 'suppressed' lifts the suppression."""
    if subscriber.status == "suppressed" and status != "suppressed":
        subscriber.suppressed_reason = None
        subscriber.soft_bounces = 0
    if status == "suppressed":
        subscriber.suppressed_reason = reason or subscriber.suppressed_reason or "suppressed by an admin"
    if status in ("active", "paused") and subscriber.confirmed_at is None:
        subscriber.confirmed_at = now  # the admin attests consent
    if status == "unsubscribed" and subscriber.status != "unsubscribed":
        subscriber.unsubscribed_at = now
    subscriber.status = status
    subscriber.updated_at = now
