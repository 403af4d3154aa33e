"""Loading what matching needs from the database: the papers of a window as ``IndexedPaper``,
each subscriber's window and the papers they were already sent. Queries are per batch, never
per subscriber.

A reader's window is a range of *days*, the days papers were announced by their sources
(``papers.announced_on``): from the day of their last digest (their first digest: a day back,
a week for weekly readers), never further back than LOOKBACK_DAYS, to today. "New" means
announced inside it and never sent to them; when a paper was ingested does not count, so a
backfill or an old file never reaches anyone as news.

One more kind of paper is offered: *later news*. A paper announced before the reader's window
(but inside LOOKBACK_DAYS) that has since crossed their upvote threshold ("now trending") or
got a code link ("code released"), and that they were never sent. The index puts later-news
papers first, where every reader's window reaches, and leaves each out for the readers it is
not news to (through their ``already_sent``), so the matcher needs no rule of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

import orjson
from sqlalchemy import Text, func, inspect, select
from sqlalchemy.orm import Session

from service.digests.schedule import Frequency, first_window_start
from service.matching.index import PaperIndex
from service.matching.profiles import fill_term_counts
from service.matching.records import IndexedPaper, MatchRequest
from service.storage.models import Delivery, Paper, Subscriber
from service.subscribers.store import preferences_of
from service.topics.store import current_taxonomy

NOW_TRENDING = "now trending"
CODE_RELEASED = "code released"
# A reader without a minimum of upvotes still hears of a paper that reaches this many after
# its day: the count at which the ranking's upvote boost starts (service/matching/score.py).
TRENDING_FLOOR = 10


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def first_day(now: datetime, lookback: timedelta) -> date:
    """The earliest day any reader's window reaches at NOW."""
    return (now - lookback).astimezone(UTC).date()


def window_papers(session: Session, since: date) -> list[Paper]:
    """Papers announced on SINCE or later (ix_papers_announced_on); their topics come with them
    (the relationship is loaded with one SELECT ... IN per chunk, not one per paper)."""
    query = select(Paper).where(Paper.announced_on >= since).order_by(Paper.id)
    return list(session.scalars(query))


def later_news(paper: Paper) -> bool:
    """Whether the paper gained something after its day that may make it news to someone."""
    return paper.code_added_at is not None or (paper.day_upvotes is not None and paper.upvotes > paper.day_upvotes)


def moment(paper: Paper, now: datetime | None) -> datetime:
    """Where the paper sits in the index (newest first, a reader sees the ones at or after the
    start of their window): the start of its day; later news at NOW, inside every window."""
    if now is not None and later_news(paper):
        return now
    return day_start(paper.announced_on) if paper.announced_on else paper.first_seen_at


def indexed(papers: Iterable[Paper], now: datetime | None = None) -> list[IndexedPaper]:
    """The matcher's view of PAPERS; without NOW, later news stays on its own day."""
    return [
        IndexedPaper(
            id=p.id,
            title=p.title,
            abstract=p.abstract,
            authors=tuple(p.authors),
            topics=frozenset(t.slug for t in p.topics),
            upvotes=p.upvotes,
            # The matcher's window and recency are over this moment (the paper's day), not
            # over when it was ingested.
            first_seen_at=moment(p, now),
            sources=frozenset(p.source_names),
            categories=tuple(p.categories),
            primary_category=p.primary_category,
            term_counts=p.term_counts,
        )
        for p in papers
    ]


def build_index(session: Session, now: datetime, lookback: timedelta) -> tuple[PaperIndex, dict[int, Paper]]:
    """The index for one batch (or one preview), and the full paper rows by id for rendering."""
    papers = window_papers(session, first_day(now, lookback))
    fill_term_counts(papers)  # rows from before term counts existed: stored with this session
    index = PaperIndex.build(indexed(papers, now), now, taxonomy=current_taxonomy(session))
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


def _expired(papers: Mapping[int, Paper]) -> bool:
    """True once the session that loaded the rows rolled back (a batch that raised): it expires
    every row it loaded, and a detached expired row raises on the next read. One row tells."""
    sample = next(iter(papers.values()), None)
    return sample is not None and bool(inspect(sample).expired_attributes)


def batch_index(session: Session, now: datetime, lookback: timedelta) -> tuple[PaperIndex, dict[int, Paper]]:
    """``build_index``, reused across batches in one process while one cheap aggregate query
    says the window's papers are the same (loading and indexing them costs ~100 ms a batch)."""
    since = first_day(now, lookback)
    fingerprint = (lookback, since, *session.execute(
        select(func.count(Paper.id), func.max(Paper.id), func.max(Paper.updated_at), func.max(Paper.taxonomy_version))
        .where(Paper.announced_on >= since)
    ).one())
    database = str(session.get_bind().engine.url)
    cached = _indexes.get(database)
    if (cached and cached.fingerprint == fingerprint and abs(now - cached.index.now) < INDEX_REUSE
            and not _expired(cached.papers)):
        return cached.index, cached.papers
    index, papers = build_index(session, now, lookback)
    _indexes[database] = _CachedIndex(fingerprint, index, papers)
    return index, papers


def already_sent(session: Session, subscriber_ids: Sequence[int], paper_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """For each subscriber, which of these papers they were sent before.

    A delivery holds its papers' ids (``Delivery.paper_ids``) and the highest of them
    (``last_paper_id``): only deliveries whose highest is at least the lowest of PAPER_IDS can hold
    any of them. One query per thousand subscribers reads those through
    ix_deliveries_subscriber_last_paper; as paper ids grow with time and a window's papers are
    recent, that is the last LOOKBACK_DAYS or so of each reader's deliveries, not a year of
    history. Ids not asked for are dropped here."""
    wanted = set(paper_ids)
    sent: defaultdict[int, set[int]] = defaultdict(set)
    if not wanted:
        return {}
    oldest = min(wanted)
    # The lists as text, decoded by orjson: the driver's own JSON decoding cost twice as much.
    ids_text = Delivery.paper_ids.cast(Text)
    for start in range(0, len(subscriber_ids), 1000):
        query = select(Delivery.subscriber_id, ids_text).where(
            Delivery.subscriber_id.in_(subscriber_ids[start : start + 1000]), Delivery.last_paper_id >= oldest,
        )
        for subscriber_id, ids in session.execute(query):
            sent[subscriber_id].update(wanted.intersection(orjson.loads(ids)))
    return {sid: frozenset(ids) for sid, ids in sent.items() if ids}


def window_start(subscriber: Subscriber, now: datetime, lookback: timedelta) -> datetime:
    """Since the last successful digest, never further back than LOOKBACK; a first digest
    covers the last day (a week for weekly readers)."""
    if subscriber.last_digest_at is None:
        # The column holds only Preferences.frequency values (apply_preferences writes it).
        start = first_window_start(now, cast(Frequency, subscriber.frequency))
    else:
        start = subscriber.last_digest_at
    return max(start, now - lookback)


def window_day(subscriber: Subscriber, now: datetime, lookback: timedelta) -> date:
    """The first day of the reader's window: the (UTC) day their window starts on. That day is
    in it again, so papers announced later on the day of their last digest still come."""
    return window_start(subscriber, now, lookback).astimezone(UTC).date()


def later_marks(paper: Paper, since_day: date, min_upvotes: int) -> tuple[str, ...]:
    """Why PAPER is news to a reader whose window starts on SINCE_DAY; () when it is in their
    window anyway, or is not news to them at all."""
    if paper.announced_on is None or paper.announced_on >= since_day:
        return ()
    marks: list[str] = []
    threshold = min_upvotes or TRENDING_FLOOR
    if paper.day_upvotes is not None and paper.day_upvotes < threshold <= paper.upvotes:
        marks.append(NOW_TRENDING)
    if paper.code_added_at is not None:
        marks.append(CODE_RELEASED)
    return tuple(marks)


def marks_for(subscriber: Subscriber, paper_ids: Iterable[int], papers: Mapping[int, Paper], now: datetime,
              lookback: timedelta) -> dict[int, tuple[str, ...]]:
    """The marks of the papers a digest holds ("now trending", "code released"), by paper id."""
    return marks_among(paper_ids, papers, window_day(subscriber, now, lookback), preferences_of(subscriber).min_upvotes)


def marks_among(paper_ids: Iterable[int], papers: Mapping[int, Paper], since_day: date,
                min_upvotes: int) -> dict[int, tuple[str, ...]]:
    """``marks_for`` with the reader's window day and threshold known (a worker has them from the
    batch's match requests: reading the preferences again cost 0.14 ms a digest)."""
    found = {pid: later_marks(papers[pid], since_day, min_upvotes) for pid in paper_ids if pid in papers}
    return {pid: marks for pid, marks in found.items() if marks}


def not_news(papers: Iterable[Paper], since_day: date, min_upvotes: int) -> frozenset[int]:
    """The later-news papers that are outside this reader's window and not news to them."""
    return frozenset(
        p.id for p in papers if p.announced_on is not None and p.announced_on < since_day
        and not later_marks(p, since_day, min_upvotes)
    )


def not_news_among(papers: Mapping[int, Paper], since_day: date, min_upvotes: int) -> frozenset[int]:
    """``not_news`` over a window's papers: what a single request (a preview) should leave out."""
    return not_news((p for p in papers.values() if later_news(p)), since_day, min_upvotes)


def match_requests(
    subscribers: Sequence[Subscriber], sent: dict[int, frozenset[int]], now: datetime, lookback: timedelta,
    papers: Mapping[int, Paper] | None = None,
) -> list[MatchRequest]:
    """One request per subscriber: their window from its first day, and the papers to leave out
    (those sent before, and the later-news ones of PAPERS that are not news to them)."""
    later = [p for p in (papers or {}).values() if later_news(p)]
    # Readers share a few (first day, threshold) pairs: work each one out once per batch.
    left_out_by: dict[tuple[date, int], frozenset[int]] = {}
    requests = []
    for s in subscribers:
        prefs = preferences_of(s)
        since_day = window_day(s, now, lookback)
        left_out = sent.get(s.id, frozenset())
        if later:
            key = (since_day, prefs.min_upvotes)
            if key not in left_out_by:
                left_out_by[key] = not_news(later, since_day, prefs.min_upvotes)
            left_out = left_out | left_out_by[key]
        requests.append(MatchRequest(prefs, day_start(since_day), left_out))
    return requests
