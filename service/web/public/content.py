"""What the public pages show from the database: the latest day's papers and the topics (cached
briefly, so the home page costs no query most of the time), the recent papers' vectors for
"similar papers" (cached longer: fitting them takes a while), the paper window the preview and the feed
match against (cached too), and past digests re-rendered from what their deliveries hold + papers.

Past digests are not stored as sent: a delivery keeps its papers, their rank and the match
reasons (spans included), which is all the view needs to show the digest as it was — with
today's titles and links, should a paper have been corrected since.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.catalog.browse import Browse, View, browse
from service.catalog.similar import Corpus, load_corpus
from service.storage.db import session_scope
from service.digests.compose import digest_paper
from service.digests.window import already_sent, build_index, day_start, not_news_among
from service.matching.index import PaperIndex
from service.matching.match import match_many
from service.matching.records import Match, MatchRequest, Reasons, TermHit
from service.storage.models import Delivery, Paper, Subscriber, Topic
from service.subscribers.preferences import Preferences
from service.rendering.digest import PaperView, paper_view
from service.topics.store import current_taxonomy

T = TypeVar("T")
HOME_TTL_SECONDS = 30.0
WINDOW_TTL_SECONDS = 60.0
CORPUS_TTL_SECONDS = 600.0


class TtlCache(Generic[T]):
    """One value per key, rebuilt when older than TTL; one builder at a time per cache."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._values: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()
        self._refreshing: set[str] = set()

    def get_nowait(self, key: str, build: Callable[[], T]) -> T | None:
        """For a caller on the event loop: the value, even a stale one, at once — a stale or
        missing one is rebuilt in a background thread. None only before the first build."""
        hit = self._values.get(key)
        if hit is not None and self._clock() - hit[0] < self.ttl:
            return hit[1]
        with self._lock:
            if key not in self._refreshing:
                self._refreshing.add(key)
                threading.Thread(target=self._refresh, args=(key, build), daemon=True).start()
        return hit[1] if hit is not None else None

    def _refresh(self, key: str, build: Callable[[], T]) -> None:
        try:
            value = build()
            self._values[key] = (self._clock(), value)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def get(self, key: str, build: Callable[[], T]) -> T:
        hit = self._values.get(key)
        if hit is not None and self._clock() - hit[0] < self.ttl:
            return hit[1]
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and self._clock() - hit[0] < self.ttl:
                return hit[1]
            value = build()
            self._values[key] = (self._clock(), value)
            return value

    def clear(self) -> None:
        self._values.clear()


@dataclass(frozen=True)
class TopicChoice:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class HomeData:
    """What / shows by default: the taxonomy's topics (for the form and the topic filter) and
    the latest day's papers."""

    topics: tuple[TopicChoice, ...]
    front: Browse

    @property
    def slugs(self) -> frozenset[str]:
        return frozenset(t.slug for t in self.topics)

    @property
    def topic_names(self) -> dict[str, str]:
        return {t.slug: t.name for t in self.topics}


def topic_choices(session: Session) -> tuple[TopicChoice, ...]:
    return tuple(TopicChoice(t.slug, t.name, t.description) for t in current_taxonomy(session).topics)


def load_home(session: Session) -> HomeData:
    topics = topic_choices(session)
    return HomeData(topics, browse(session, View(), {t.slug: t.name for t in topics}))


class HomeCache(TtlCache[HomeData]):
    def __init__(self) -> None:
        super().__init__(HOME_TTL_SECONDS)

    def data(self, settings: Settings) -> HomeData:
        return self.get(settings.effective_database_url, lambda: self._load(settings))

    def data_nowait(self, settings: Settings) -> HomeData | None:
        """Never waits for the database once loaded: a stale list is served while it refreshes."""
        return self.get_nowait(settings.effective_database_url, lambda: self._load(settings))

    @staticmethod
    def _load(settings: Settings) -> HomeData:
        with session_scope(settings) as session:
            return load_home(session)


class CorpusCache(TtlCache[Corpus]):
    """The recent papers' vectors for "similar papers", refitted every few minutes."""

    def __init__(self) -> None:
        super().__init__(CORPUS_TTL_SECONDS)

    def corpus(self, settings: Settings, session: Session) -> Corpus:
        return self.get(settings.effective_database_url, lambda: load_corpus(session))


@dataclass(frozen=True)
class Window:
    """The papers of the lookback window, indexed for matching, with names for display."""

    index: PaperIndex
    papers: dict[int, Paper]
    topic_names: dict[str, str]
    built_at: datetime


class WindowCache(TtlCache[Window]):
    def __init__(self) -> None:
        super().__init__(WINDOW_TTL_SECONDS)

    def window(self, settings: Settings, now: datetime) -> Window:
        def build() -> Window:
            with session_scope(settings) as session:
                index, papers = build_index(session, now, timedelta(days=settings.lookback_days))
                names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
            return Window(index, papers, names, now)

        return self.get(settings.effective_database_url, build)


def matched_papers(
    settings: Settings, window: Window, subscriber: Subscriber, prefs: Preferences, since: datetime
) -> list[PaperView]:
    """What PREFS pick from the window for SUBSCRIBER (papers they already got left out)."""
    with session_scope(settings) as session:
        sent = already_sent(session, [subscriber.id], window.papers).get(subscriber.id, frozenset())
    # later news (service/digests/window.py) counts only where it is news to this reader
    left_out = sent | not_news_among(window.papers, since.date(), prefs.min_upvotes)
    [matches] = match_many([MatchRequest(prefs, since, left_out)], window.index)
    return [paper_view(digest_paper(window.papers[m.paper_id], m, window.topic_names)) for m in matches]


def preview_since(window: Window, prefs: Preferences) -> datetime:
    """ "What you would have got today": a day of papers, a week for weekly readers (from the
    start of the day that reaches back to: windows are over the papers' days)."""
    return day_start((window.built_at - timedelta(days=7 if prefs.frequency == "weekly" else 1)).date())


def stored_match(paper_id: int, rank: int, record: dict[str, Any]) -> Match:
    """A match as its delivery recorded it (``Delivery.reasons``, see digests.record.reasons_record)."""
    terms = tuple(
        TermHit(str(t["term"]), t["field"], tuple((int(a), int(b)) for a, b in t.get("spans", [])))
        for t in record.get("terms", [])
    )
    reasons = Reasons(
        terms=terms,
        topics=tuple(record.get("topics", [])),
        authors=tuple(record.get("authors", [])),
        trending=bool(record.get("trending", False)),
    )
    return Match(paper_id, float(record.get("score", -rank)), reasons)


def past_deliveries(session: Session, subscriber_id: int, limit: int = 200) -> Sequence[Delivery]:
    query = (
        select(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status == "sent")
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def delivered_papers(session: Session, delivery: Delivery,
                     votes: Callable[[int], tuple[str, str]] | None = None) -> list[PaperView]:
    """The papers of one sent digest, in the order they were sent, with why each was picked
    (and VOTES(paper id): the reader's 👍 / 👎 links, as the mail had them)."""
    ids, records = delivery.paper_ids or [], delivery.reasons or []  # no reasons once erased
    papers = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))} if ids else {}
    names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
    views = []
    for rank, paper_id in enumerate(ids, start=1):
        if paper_id in papers:  # a paper deleted by hand since
            match = stored_match(paper_id, rank, records[rank - 1] if rank <= len(records) else {})
            views.append(paper_view(digest_paper(papers[paper_id], match, names, votes(paper_id) if votes else None)))
    return views
