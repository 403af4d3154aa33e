"""What a subscriber would get now, without claiming or sending anything: as the rendered email,
or as the ranking itself (every candidate with its score, the score's parts and the reasons)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.digests.compose import digest_context
from service.digests.schedule import zone
from service.digests.window import already_sent, build_index, marks_for, match_requests
from service.ingest.day_status import load_day_status
from service.matching.explain import reason_lines
from service.matching.match import match_many
from service.matching.profiles import load_profiles
from service.matching.records import Match
from service.rendering import EmailRenderer, RenderedEmail, Sender, render_digest
from service.storage.db import session_scope
from service.storage.models import Paper, Subscriber, Topic
from service.subscribers.store import InvalidSubscriber, find_by_email, normalise_email


def _subscriber(session: Session, email: str) -> Subscriber:
    subscriber = find_by_email(session, normalise_email(email))
    if subscriber is None:
        raise InvalidSubscriber(f"email: no subscriber {email!r}")
    return subscriber


def _ranked(
    session: Session, subscriber: Subscriber, now: datetime, lookback: timedelta, limit: int | None = None
) -> tuple[list[Match], dict[int, Paper]]:
    """The subscriber's matches as a digest at NOW would rank them (votes and seeds included)."""
    index, papers = build_index(session, now, lookback)
    sent = already_sent(session, [subscriber.id], papers)
    profiles = load_profiles(session, [subscriber.id])
    index.add_profile_papers(profiles.papers.values())
    [request] = profiles.attach(match_requests([subscriber], sent, now, lookback, papers), [subscriber.id])
    if limit is not None:
        request = replace(request, limit=limit)
    [matches] = match_many([request], index)
    return list(matches), papers


def preview_digest(settings: Settings, email: str, now: datetime, renderer: EmailRenderer | None = None) -> RenderedEmail:
    """Render the digest EMAIL would receive at NOW (matches, reasons and all)."""
    lookback = timedelta(days=settings.lookback_days)
    with session_scope(settings) as session:
        subscriber = _subscriber(session, email)
        matches, papers = _ranked(session, subscriber, now, lookback)
        topic_names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        day = now.astimezone(zone(subscriber.timezone)).date()
        marks = marks_for(subscriber, (m.paper_id for m in matches), papers, now, lookback)
        status = load_day_status(session, now.date(), now).line(day)
        sender = Sender.from_settings(settings)
        context = digest_context(settings, subscriber, matches, papers, topic_names, day, sender, marks=marks,
                                 status=status)
        return render_digest(context, renderer)


def preview_ranking(settings: Settings, email: str, now: datetime, limit: int | None = None) -> dict[str, Any]:
    """The ranking EMAIL's digest at NOW would use, as data, best first::

        {"papers": [{"arxiv_id", "title", "score", "parts", "reasons"}, ...]}

    ``limit``: None for what the digest would hold (their ``max_papers``), 0 for every
    candidate. ``parts`` names each part of the score (they add up to it, see
    service/matching/score.py); ``reasons`` are the lines the digest shows.
    """
    lookback = timedelta(days=settings.lookback_days)
    with session_scope(settings) as session:
        subscriber = _subscriber(session, email)
        matches, papers = _ranked(session, subscriber, now, lookback, limit)
        names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        return {"papers": [ranked_paper(papers[m.paper_id], m, names) for m in matches]}


def ranked_paper(paper: Paper, match: Match, topic_names: dict[str, str]) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "score": match.score,
        "parts": match.parts,
        "reasons": reason_lines(match.reasons, topic_names),
    }
