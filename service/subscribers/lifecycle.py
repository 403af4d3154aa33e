"""The vocabulary of a subscriber's life, shared by the actions that change it and the pages
and workers around them: the transactional ``Mail`` an action hands back, the throttles on
those mails, the errors a link can end in, and how a link finds its subscriber.

The steps themselves (subscribe, confirm, change preferences or address, pause, resume,
unsubscribe, resubscribe, new links) are ``service.actions.readers``: each writes its audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from config.settings import Settings
from service.storage.models import Subscriber
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


@dataclass(frozen=True)
class Confirmed:
    subscriber: Subscriber
    mail: Mail | None
    first_time: bool  # False: the link was used before (confirming is idempotent)
    address_changed: bool = False


def due(stamp: datetime | None, now: datetime, every: timedelta) -> bool:
    """True when a throttled mail last sent at STAMP may go again."""
    return stamp is None or now - stamp >= every


def confirmation(subscriber: Subscriber, now: datetime) -> Mail | None:
    """A fresh confirmation mail, at most one per CONFIRM_RESEND (the stamp is the throttle)."""
    if not due(subscriber.confirmation_sent_at, now, CONFIRM_RESEND):
        return None
    subscriber.confirmation_sent_at = now
    return Mail("confirm", subscriber.id)


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
