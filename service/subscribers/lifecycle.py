"""What a subscriber can do from the web: subscribe (double opt-in), confirm, change preferences
or address, pause, resume, unsubscribe, resubscribe, ask for fresh links.

Functions take a session and return the mail to send (``Mail``) or None; the caller commits,
then hands the mail to the transactional queue — the irrevocable send comes after the state
that guards it is committed. None of them tells a caller whether an address was known:
``request_subscription`` and ``request_new_links`` look the same from outside whatever the
address's state (the web answers "check your inbox" every time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from service.storage.models import Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import apply_preferences, find_by_email, normalise_email
from service.subscribers.tokens import ExpiredToken, InvalidToken, Purpose, TokenData, read_token

# A pending address gets a fresh confirmation at most this often...
CONFIRM_RESEND = timedelta(minutes=10)
# ...and a subscribed one at most one "you are already subscribed" mail this often.
ALREADY_RESEND = timedelta(days=1)

MailKind = Literal["confirm", "change", "welcome", "already", "links"]
MAIL_KINDS: tuple[MailKind, ...] = ("confirm", "change", "welcome", "already", "links")


@dataclass(frozen=True)
class Mail:
    """A transactional mail to send after commit (the task renders it from the row)."""

    kind: MailKind
    subscriber_id: int


class LinkError(Exception):
    """A tokened link that leads nowhere: forged, revoked, or its subscriber is gone."""


class AddressTaken(Exception):
    """The new address of an address change belongs to another subscription."""


def _due(stamp: datetime | None, now: datetime, every: timedelta) -> bool:
    return stamp is None or now - stamp >= every


def _confirmation(subscriber: Subscriber, now: datetime) -> Mail | None:
    if not _due(subscriber.confirmation_sent_at, now, CONFIRM_RESEND):
        return None
    subscriber.confirmation_sent_at = now
    return Mail("confirm", subscriber.id)


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
            # The INSERT is the transaction's first statement: on SQLite it takes the write lock
            # (waiting its turn) instead of upgrading a read snapshot, which fails at once.
            session.flush()
        except IntegrityError:  # the same new address signed up twice at once: the other won
            session.rollback()
            subscriber = find_by_email(session, address)
            if subscriber is None:
                raise
        else:
            return Mail("confirm", subscriber.id)
    if subscriber.status in ("pending", "unsubscribed"):
        # Not confirmed (again) yet: the latest form wins, nothing is sent until confirmed.
        subscriber.status = "pending"
        apply_preferences(subscriber, prefs)
        subscriber.updated_at = now
        return _confirmation(subscriber, now)
    if subscriber.status in ("active", "paused"):
        if not _due(subscriber.reminder_sent_at, now, ALREADY_RESEND):
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
        return _confirmation(subscriber, now)
    subscriber.token_version += 1
    subscriber.updated_at = now
    return Mail("links", subscriber.id)


def subscriber_for(session: Session, settings: Settings, purpose: Purpose, token: str) -> tuple[Subscriber, TokenData]:
    """The subscriber a link is for. Raises ExpiredToken (confirmation links only) or LinkError."""
    try:
        data = read_token(settings, purpose, token)
    except ExpiredToken:
        raise
    except InvalidToken as exc:
        raise LinkError(str(exc)) from None
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.token_version != data.version:
        raise LinkError("this link is no longer valid; ask for a new one")
    return subscriber, data


@dataclass(frozen=True)
class Confirmed:
    subscriber: Subscriber
    mail: Mail | None
    first_time: bool  # False: the link was used before (confirming is idempotent)
    address_changed: bool = False


def confirm(session: Session, settings: Settings, token: str, now: datetime) -> Confirmed:
    """Activate a pending subscriber, or move one to the new address a change link was sent
    to. Raises ExpiredToken, LinkError, or AddressTaken."""
    subscriber, data = subscriber_for(session, settings, "confirm", token)
    new_address = data.extra.get("e")
    if new_address is not None:
        return _confirm_address(session, subscriber, str(new_address), now)
    if subscriber.status == "pending":
        subscriber.status = "active"
        subscriber.confirmed_at = now
        subscriber.updated_at = now
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
    subscriber.email = new_address
    subscriber.pending_email = None
    # Links mailed to the old address must stop controlling this subscription.
    subscriber.token_version += 1
    subscriber.updated_at = now
    return Confirmed(subscriber, None, first_time=True, address_changed=True)


def resend_confirmation(session: Session, settings: Settings, token: str, now: datetime) -> Mail | None:
    """From an expired confirmation link: a fresh one, throttled. The expired token's signature
    is still checked (only its age is ignored), so this cannot be used to mail anyone."""
    patient = settings.model_copy(update={"confirm_token_max_age_hours": 10**6})
    subscriber, data = subscriber_for(session, patient, "confirm", token)
    if data.extra.get("e") is not None:
        if subscriber.pending_email != data.extra["e"] or not _due(subscriber.confirmation_sent_at, now, CONFIRM_RESEND):
            return None
        subscriber.confirmation_sent_at = now
        return Mail("change", subscriber.id)
    return _confirmation(subscriber, now) if subscriber.status == "pending" else None


def save_preferences(subscriber: Subscriber, prefs: Preferences, now: datetime) -> None:
    apply_preferences(subscriber, prefs)
    subscriber.updated_at = now


def request_address_change(session: Session, subscriber: Subscriber, email: str, now: datetime) -> Mail | None:
    """Remember the new address and mail it a confirmation link; the address changes only when
    that link is opened. Raises InvalidSubscriber for a malformed address."""
    address = normalise_email(email)
    if address == subscriber.email:
        subscriber.pending_email = None
        return None
    subscriber.pending_email = address
    subscriber.confirmation_sent_at = now
    subscriber.updated_at = now
    return Mail("change", subscriber.id)


def set_paused(subscriber: Subscriber, paused: bool, now: datetime) -> bool:
    """Pause or resume digests; True when the status changed."""
    before, after = ("active", "paused") if paused else ("paused", "active")
    if subscriber.status != before:
        return False
    subscriber.status = after
    subscriber.updated_at = now
    return True


def unsubscribe(subscriber: Subscriber, now: datetime) -> bool:
    """Stop every digest; idempotent (True when it changed something)."""
    if subscriber.status in ("unsubscribed", "suppressed"):
        return False
    subscriber.status = "unsubscribed"
    subscriber.unsubscribed_at = now
    subscriber.updated_at = now
    return True


def resubscribe(subscriber: Subscriber, now: datetime) -> Mail | None:
    """Undo an unsubscribe from a link that proves the mailbox: active again at once when the
    address was confirmed before, else a confirmation as for a new sign-up."""
    if subscriber.status != "unsubscribed":
        return None
    subscriber.unsubscribed_at = None
    subscriber.updated_at = now
    if subscriber.confirmed_at is not None:
        subscriber.status = "active"
        return None
    subscriber.status = "pending"
    return _confirmation(subscriber, now)
