"""Transactional mail (confirmation, address change, welcome, already subscribed, new links):
rendered from the subscriber's row at send time and sent at once, never behind a digest run.

The worker task ``workers.tasks.send_transactional(kind, subscriber_id)`` calls ``send_mail``;
so does the web process itself when MAIL_BACKEND is ``memory`` (that outbox lives in-process).
A mail whose reason went away before it was sent (confirmed meanwhile, unsubscribed) is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from config.settings import Settings
from service.mail import Unsubscribe
from service.mail.toolkit import DeliveryTools
from service.rendering import RenderedEmail, render_confirm, render_welcome
from service.rendering.already import AlreadyReason, render_already
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.lifecycle import MAIL_KINDS
from service.subscribers.tokens import link, make_token, token_url
from service.topics.store import current_taxonomy

SCHEDULE_WORDS = {"daily": "every day", "weekdays": "every weekday", "weekly": "every week"}


@dataclass(frozen=True)
class Prepared:
    to: str
    email: RenderedEmail
    key: str  # same key, same Message-ID: a retried task repeats its message id
    unsubscribe: Unsubscribe | None  # None: no List-Unsubscribe (confirmations)


def schedule_text(subscriber: Subscriber) -> str:
    return f"{SCHEDULE_WORDS.get(subscriber.frequency, 'regularly')} at {subscriber.send_hour:02d}:00 ({subscriber.timezone})"


def topic_labels(session: Session) -> dict[str, str]:
    """Topic names by slug, as admins named them (the shipped taxonomy until the table has any)."""
    return {topic.slug: topic.name for topic in current_taxonomy(session).topics}


def interests(subscriber: Subscriber, labels: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The reader's topics by their names (a slug an admin has since deleted stays a slug) and
    their keywords, as the preferences hold them."""
    prefs = subscriber.preferences or {}
    return [labels.get(slug, slug) for slug in prefs.get("topics", [])], list(prefs.get("keywords", []))


def prepare(settings: Settings, kind: str, subscriber: Subscriber, tools: DeliveryTools,
            labels: Mapping[str, str] | None = None) -> Prepared | None:
    """The message KIND for SUBSCRIBER as it stands now, or None when there is nothing to send.
    LABELS: topic names by slug, to name the reader's topics."""
    sid, version = subscriber.id, subscriber.token_version
    topics, keywords = interests(subscriber, labels or {})
    stamp = (subscriber.confirmation_sent_at or subscriber.created_at).isoformat()
    hours = settings.confirm_token_max_age_hours
    sender, renderer = tools.sender, tools.renderer
    if kind == "confirm":
        if subscriber.status != "pending":
            return None
        url = link(settings, "confirm", sid, version)
        email = render_confirm(recipient=subscriber.email, confirm_url=url, valid_hours=hours, sender=sender,
                               topics=topics, keywords=keywords, renderer=renderer)
        return Prepared(subscriber.email, email, f"confirm/{sid}/{stamp}", None)
    if kind == "change":
        if not subscriber.pending_email:
            return None
        url = link(settings, "confirm", sid, version, e=subscriber.pending_email)
        email = render_confirm(recipient=subscriber.pending_email, confirm_url=url, valid_hours=hours, sender=sender,
                               renderer=renderer)
        return Prepared(subscriber.pending_email, email, f"change/{sid}/{stamp}", None)
    if subscriber.status not in ("active", "paused"):
        return None
    preferences_url = link(settings, "preferences", sid, version)
    unsubscribe_token = make_token(settings, "unsubscribe", sid, version)
    unsubscribe = Unsubscribe(token_url(settings, "unsubscribe", unsubscribe_token), unsubscribe_token)
    if kind == "welcome":
        email = render_welcome(
            recipient=subscriber.email, preferences_url=preferences_url, unsubscribe_url=unsubscribe.url,
            topics=topics, keywords=keywords, schedule=schedule_text(subscriber), sender=sender, renderer=renderer,
        )
        return Prepared(subscriber.email, email, f"welcome/{sid}", unsubscribe)
    if kind in ("already", "links"):
        reason: AlreadyReason = "already" if kind == "already" else "links"
        email = render_already(
            recipient=subscriber.email, preferences_url=preferences_url, unsubscribe_url=unsubscribe.url,
            reason=reason, paused=subscriber.status == "paused", sender=sender, renderer=renderer,
        )
        when = subscriber.reminder_sent_at if kind == "already" else None
        return Prepared(subscriber.email, email, f"{kind}/{sid}/{version}/{when}", unsubscribe)
    raise ValueError(f"unknown transactional mail kind {kind!r} (known: {', '.join(MAIL_KINDS)})")


def send_mail(settings: Settings, kind: str, subscriber_id: int, tools: DeliveryTools) -> str:
    """Render and send one transactional mail; a line saying what happened. Raises
    DeliveryError from the backend (the caller decides about retrying)."""
    if kind not in MAIL_KINDS:
        raise ValueError(f"unknown transactional mail kind {kind!r}")
    with session_scope(settings) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        prepared = prepare(settings, kind, subscriber, tools, topic_labels(session)) if subscriber is not None else None
    if prepared is None:
        return f"{kind} for subscriber {subscriber_id}: nothing to send"
    # Confirmations carry no List-Unsubscribe (there is no subscription yet); the others do.
    mail = tools.composer.compose(
        to_address=prepared.to,
        subject=prepared.email.subject,
        text=prepared.email.text,
        html=prepared.email.html,
        message_key=prepared.key,
        unsubscribe=prepared.unsubscribe,
        kind=kind,
        date=datetime.now(UTC),
        subscriber_id=subscriber_id,  # its bounce address names the subscriber (VERP)
    )
    tools.backend.send(mail.envelope_from, mail.to, mail.data)
    return f"{kind} for subscriber {subscriber_id}: sent {mail.message_id}"
