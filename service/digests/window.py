"""Loading what matching needs from the database: the papers of a window as ``IndexedPaper``,
each subscriber's window start and the papers they were already sent. Queries are per batch,
never per subscriber."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.matching.index import PaperIndex
from service.matching.profiles import fill_term_counts
from service.matching.records import IndexedPaper, MatchRequest
from service.storage.models import DeliveryPaper, Paper, Subscriber
from service.digests.schedule import Frequency, first_window_start
from service.subscribers.store import preferences_of
from service.topics.store import current_taxonomy


def window_papers(session: Session, since: datetime) -> list[Paper]:
    """Papers first seen since SINCE (ix_papers_first_seen_at); their topics come with them
    (the relationship is loaded with one SELECT ... IN per chunk, not one per paper)."""
    return list(session.scalars(select(Paper).where(Paper.first_seen_at >= since).order_by(Paper.id)))


def indexed(papers: Iterable[Paper]) -> list[IndexedPaper]:
    return [
        IndexedPaper(
            id=p.id,
            title=p.title,
            abstract=p.abstract,
            authors=tuple(p.authors),
            topics=frozenset(t.slug for t in p.topics),
            upvotes=p.upvotes,
            first_seen_at=p.first_seen_at,
            sources=frozenset(p.source_names),
            categories=tuple(p.categories),
            primary_category=p.primary_category,
            term_counts=p.term_counts,
        )
        for p in papers
    ]


def build_index(session: Session, now: datetime, lookback: timedelta) -> tuple[PaperIndex, dict[int, Paper]]:
    """The index for one batch (or one preview), and the full paper rows by id for rendering."""
    papers = window_papers(session, now - lookback)
    fill_term_counts(papers)  # rows from before term counts existed: stored with this session
    index = PaperIndex.build(indexed(papers), now, taxonomy=current_taxonomy(session))
    return index, {p.id: p for p in papers}


@dataclass
class _CachedIndex:
    fingerprint: tuple[object, ...]
    index: PaperIndex
    papers: dict[int, Paper]


# A worker's consecutive batches mostly see the same window: reuse its index while the window's
# papers are unchanged and the index is younger than this (recency boosts move with time).
INDEX_REUSE = timedelta(minutes=2)
_indexes: dict[str, _CachedIndex] = {}


def batch_index(session: Session, now: datetime, lookback: timedelta) -> tuple[PaperIndex, dict[int, Paper]]:
    """``build_index``, reused across batches in one process while one cheap aggregate query
    says the window's papers are the same (loading and indexing them costs ~100 ms a batch)."""
    since = now - lookback
    fingerprint = (lookback, *session.execute(
        select(func.count(Paper.id), func.max(Paper.id), func.max(Paper.updated_at), func.max(Paper.taxonomy_version))
        .where(Paper.first_seen_at >= since)
    ).one())
    database = str(session.get_bind().engine.url)
    cached = _indexes.get(database)
    if cached and cached.fingerprint == fingerprint and abs(now - cached.index.now) < INDEX_REUSE:
        return cached.index, cached.papers
    index, papers = build_index(session, now, lookback)
    _indexes[database] = _CachedIndex(fingerprint, index, papers)
    return index, papers


def already_sent(session: Session, subscriber_ids: Sequence[int], paper_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """For each subscriber, which of these papers they were sent before. Both lists go into the
    query, so ix_delivery_papers_subscriber_paper answers it and a year of history is not read."""
    wanted = list(paper_ids)
    sent: defaultdict[int, set[int]] = defaultdict(set)
    if not wanted:
        return {}
    for start in range(0, len(subscriber_ids), 1000):
        query = select(DeliveryPaper.subscriber_id, DeliveryPaper.paper_id).where(
            DeliveryPaper.subscriber_id.in_(subscriber_ids[start : start + 1000]),
            DeliveryPaper.paper_id.in_(wanted),
        )
        for subscriber_id, paper_id in session.execute(query):
            sent[subscriber_id].add(paper_id)
    return {sid: frozenset(ids) for sid, ids in sent.items()}


def window_start(subscriber: Subscriber, now: datetime, lookback: timedelta) -> datetime:
    """Papers first seen since the last successful digest, never further back than LOOKBACK;
    a first digest covers the last day (a week for weekly readers)."""
    if subscriber.last_digest_at is None:
        # The column holds only Preferences.frequency values (apply_preferences writes it).
        start = first_window_start(now, cast(Frequency, subscriber.frequency))
    else:
        start = subscriber.last_digest_at
    return max(start, now - lookback)


def match_requests(
    subscribers: Sequence[Subscriber], sent: dict[int, frozenset[int]], now: datetime, lookback: timedelta
) -> list[MatchRequest]:
    return [
        MatchRequest(preferences_of(s), window_start(s, now, lookback), sent.get(s.id, frozenset()))
        for s in subscribers
    ]
