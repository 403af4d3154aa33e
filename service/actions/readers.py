"""What a reader does to their own subscription from the web: subscribe (double opt-in),
confirm (the POST behind the confirmation page; ``confirmation_page`` is its read-only GET),
change preferences or address, pause, resume, unsubscribe, resubscribe, ask for fresh links.

Each returns the mail to send (``Mail``) or None; the caller commits, then hands the mail to the
transactional queue. None of them tells a caller whether an address was known:
``request_subscription`` and ``request_new_links`` look the same from outside whatever the
address's state (the web answers "check your inbox" every time).

The audit row's actor is ``subscriber:<id>``, never the address. A row is written when the
subscription changed (status, address, preferences, links revoked): the consent trail of
sign-up, confirmation and unsubscribe. Throttled mails only stamp their throttle and write none,
so a public form sent over and over cannot grow the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.subscribers import AUDITED
from service.actions.votes import subscriber_actor
from service.admin import audit
from service.storage.models import Subscriber
from service.subscribers.lifecycle import (
    ALREADY_RESEND,
    CONFIRM_RESEND,
    AddressTaken,
    Confirmed,
    LinkError,
    Mail,
    confirmation,
    due,
    subscriber_for,
)
from service.subscribers.preferences import Preferences
from service.subscribers.store import apply_preferences, find_by_email, normalise_email

# What a reader's own changes touch, beyond what an admin's show: the address waiting for its
# confirmation, and the link version (a bump revokes every link mailed so far).
READER_AUDITED = (*AUDITED, "pending_email", "token_version")


def _snapshot(subscriber: Subscriber) -> dict[str, Any]:
    return audit.snapshot(subscriber, READER_AUDITED)


def _record_change(session: Session, subscriber: Subscriber, action: str, before: dict[str, Any]) -> None:
    old, new = audit.changed(before, _snapshot(subscriber))
    if new:
        audit.record(session, subscriber_actor(subscriber.id), action, "subscriber", subscriber.id, old, new)


def _status_action(subscriber: Subscriber) -> str:
    return f"subscriber.status.{subscriber.status}"  # the names an admin's status change uses


def request_subscription(session: Session, email: str, prefs: Preferences, now: datetime) -> Mail | None:
    """The sign-up form. New → pending + confirmation; pending or unsubscribed → the form's
    preferences and a fresh confirmation (throttled); active or paused → an "already subscribed"
    mail (throttled), their preferences untouched; suppressed → nothing.
    Raises InvalidSubscriber for a malformed address (before anything is written)."""
    address = normalise_email(email)
    subscriber = find_by_email(session, address)
    if subscriber is None:
        subscriber = Subscriber(email=address, status="pending", created_at=now, updated_at=now,
                                confirmation_sent_at=now)
        apply_preferences(subscriber, prefs)
        session.add(subscriber)
        try:
            # The INSERT is the transaction's first write: on SQLite it takes the write lock
            # (waiting its turn) instead of upgrading a read snapshot, which fails at once.
            session.flush()
        except IntegrityError:  # the same new address signed up twice at once: the other won
            session.rollback()
            subscriber = find_by_email(session, address)
            if subscriber is None:
                raise
        else:
            audit.record(session, subscriber_actor(subscriber.id), "subscriber.subscribe", "subscriber",
                         subscriber.id, None, _snapshot(subscriber))
            return Mail("confirm", subscriber.id)
    if subscriber.status in ("pending", "unsubscribed"):
        # Not confirmed (again) yet: the latest form wins, nothing is sent until confirmed.
        before = _snapshot(subscriber)
        subscriber.status = "pending"
        apply_preferences(subscriber, prefs)
        subscriber.updated_at = now
        _record_change(session, subscriber, "subscriber.subscribe", before)
        return confirmation(subscriber, now)
    if subscriber.status in ("active", "paused"):
        if not due(subscriber.reminder_sent_at, now, ALREADY_RESEND):
            return None
        subscriber.reminder_sent_at = now
        return Mail("already", subscriber.id)
    return None  # suppressed: bounced or complained; mailing it again would hurt delivery


def request_new_links(session: Session, email: str, now: datetime) -> Mail | None:
    """ "Send me a new link": revoke every link issued so far and mail fresh ones. A pending
    address gets its confirmation again instead (throttled). Raises InvalidSubscriber."""
    subscriber = find_by_email(session, normalise_email(email))
    if subscriber is None or subscriber.status == "suppressed":
        return None
    if subscriber.status == "pending":
        return confirmation(subscriber, now)
    before = _snapshot(subscriber)
    subscriber.token_version += 1
    subscriber.updated_at = now
    _record_change(session, subscriber, "subscriber.new_links", before)
    return Mail("links", subscriber.id)


@dataclass(frozen=True)
class ConfirmPage:
    """What a confirmation link's GET shows (read only: a link scanner's GET changes nothing)."""

    subscriber: Subscriber
    address: str  # the address being confirmed: the subscription's, or an address change's new one
    address_change: bool
    done: bool  # already confirmed: the button has nothing left to do


def confirmation_page(session: Session, settings: Settings, token: str) -> ConfirmPage:
    """The checks ``confirm`` makes, without its changes. Raises ExpiredToken or LinkError."""
    subscriber, data = subscriber_for(session, settings, "confirm", token)
    new_address = data.extra.get("e")
    if new_address is not None:
        address = str(new_address)
        if subscriber.email != address and subscriber.pending_email != address:
            raise LinkError("this address change was replaced by a newer one; use the latest link")
        return ConfirmPage(subscriber, address, True, done=subscriber.email == address)
    if subscriber.status not in ("pending", "active", "paused"):
        raise LinkError("this confirmation link is no longer valid; subscribe again on the home page")
    return ConfirmPage(subscriber, subscriber.email, False, done=subscriber.status != "pending")


def confirm(session: Session, settings: Settings, token: str, now: datetime) -> Confirmed:
    """Activate a pending subscriber, or move one to the new address a change link was sent
    to. Raises ExpiredToken, LinkError, or AddressTaken."""
    subscriber, data = subscriber_for(session, settings, "confirm", token)
    new_address = data.extra.get("e")
    if new_address is not None:
        return _confirm_address(session, subscriber, str(new_address), now)
    if subscriber.status == "pending":
        before = _snapshot(subscriber)
        subscriber.status = "active"
        subscriber.confirmed_at = now
        subscriber.updated_at = now
        _record_change(session, subscriber, "subscriber.confirm", before)
        return Confirmed(subscriber, Mail("welcome", subscriber.id), first_time=True)
    if subscriber.status in ("active", "paused"):
        return Confirmed(subscriber, None, first_time=False)
    # Unsubscribed or suppressed since the link was sent: the later decision stands.
    raise LinkError("this confirmation link is no longer valid; subscribe again on the home page")


def _confirm_address(session: Session, subscriber: Subscriber, new_address: str, now: datetime) -> Confirmed:
    if subscriber.email == new_address:
        return Confirmed(subscriber, None, first_time=False, address_changed=True)
    if subscriber.pending_email != new_address:
        raise LinkError("this address change was replaced by a newer one; use the latest link")
    other = find_by_email(session, new_address)
    if other is not None:
        raise AddressTaken(f"{new_address} already has a subscription; unsubscribe it first")
    before = _snapshot(subscriber)
    subscriber.email = new_address
    subscriber.pending_email = None
    # Links mailed to the old address must stop controlling this subscription.
    subscriber.token_version += 1
    subscriber.updated_at = now
    _record_change(session, subscriber, "subscriber.confirm_email", before)
    return Confirmed(subscriber, None, first_time=True, address_changed=True)


def resend_confirmation(session: Session, settings: Settings, token: str, now: datetime) -> Mail | None:
    """From an expired confirmation link: a fresh one, throttled. The expired token's signature
    is still checked (only its age is ignored), so this cannot be used to mail anyone. Only the
    throttle's stamp changes: no audit row."""
    patient = settings.model_copy(update={"confirm_token_max_age_hours": 10**6})
    subscriber, data = subscriber_for(session, patient, "confirm", token)
    if data.extra.get("e") is not None:
        if subscriber.pending_email != data.extra["e"] or not due(subscriber.confirmation_sent_at, now, CONFIRM_RESEND):
            return None
        subscriber.confirmation_sent_at = now
        return Mail("change", subscriber.id)
    return confirmation(subscriber, now) if subscriber.status == "pending" else None


def save_preferences(session: Session, subscriber: Subscriber, prefs: Preferences, now: datetime) -> None:
    before = _snapshot(subscriber)
    apply_preferences(subscriber, prefs)
    subscriber.updated_at = now
    _record_change(session, subscriber, "subscriber.preferences", before)


def request_address_change(session: Session, subscriber: Subscriber, email: str, now: datetime) -> Mail | None:
    """Remember the new address and mail it a confirmation link; the address changes only when
    that link is opened. Raises InvalidSubscriber for a malformed address."""
    address = normalise_email(email)
    before = _snapshot(subscriber)
    if address == subscriber.email:
        subscriber.pending_email = None
        _record_change(session, subscriber, "subscriber.request_email_change", before)
        return None
    subscriber.pending_email = address
    subscriber.confirmation_sent_at = now
    subscriber.updated_at = now
    _record_change(session, subscriber, "subscriber.request_email_change", before)
    return Mail("change", subscriber.id)


def set_paused(session: Session, subscriber: Subscriber, paused: bool, now: datetime) -> bool:
    """Pause or resume digests; True when the status changed."""
    before, after = ("active", "paused") if paused else ("paused", "active")
    if subscriber.status != before:
        return False
    snapshot = _snapshot(subscriber)
    subscriber.status = after
    subscriber.updated_at = now
    _record_change(session, subscriber, _status_action(subscriber), snapshot)
    return True


def unsubscribe(session: Session, subscriber: Subscriber, now: datetime) -> bool:
    """Stop every digest; idempotent (True when it changed something)."""
    if subscriber.status in ("unsubscribed", "suppressed"):
        return False
    before = _snapshot(subscriber)
    subscriber.status = "unsubscribed"
    subscriber.unsubscribed_at = now
    subscriber.updated_at = now
    _record_change(session, subscriber, _status_action(subscriber), before)
    return True


def resubscribe(session: Session, subscriber: Subscriber, now: datetime) -> Mail | None:
    """Undo an unsubscribe from a link that proves the mailbox: active again at once when the
    address was confirmed before, else a confirmation as for a new sign-up."""
    if subscriber.status != "unsubscribed":
        return None
    before = _snapshot(subscriber)
    subscriber.unsubscribed_at = None
    subscriber.updated_at = now
    subscriber.status = "active" if subscriber.confirmed_at is not None else "pending"
    _record_change(session, subscriber, _status_action(subscriber), before)
    return None if subscriber.status == "active" else confirmation(subscriber, now)
