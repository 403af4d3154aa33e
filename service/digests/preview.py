"""What a subscriber would get now, without claiming or sending anything."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.digests.compose import digest_context
from service.digests.window import already_sent, build_index, match_requests
from service.matching.match import match_many
from service.storage.models import Topic
from service.rendering import EmailRenderer, RenderedEmail, Sender, render_digest
from service.digests.schedule import zone
from service.subscribers.store import InvalidSubscriber, find_by_email, normalise_email


def preview_digest(settings: Settings, email: str, now: datetime, renderer: EmailRenderer | None = None) -> RenderedEmail:
    """Render the digest EMAIL would receive at NOW (matches, reasons and all)."""
    lookback = timedelta(days=settings.lookback_days)
    with session_scope(settings) as session:
        subscriber = find_by_email(session, normalise_email(email))
        if subscriber is None:
            raise InvalidSubscriber(f"email: no subscriber {email!r}")
        index, papers = build_index(session, now, lookback)
        sent = already_sent(session, [subscriber.id], papers)
        [matches] = match_many(match_requests([subscriber], sent, now, lookback), index)
        topic_names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        day = now.astimezone(zone(subscriber.timezone)).date()
        context = digest_context(settings, subscriber, matches, papers, topic_names, day, Sender.from_settings(settings))
        return render_digest(context, renderer)
