"""The front page's view of the papers: which span it shows, the papers in it, the way to the
spans before and after, and how many papers each topic has there.

``/`` is the latest day that has papers (the latest with papers in the topic, when one is
picked); ``?date=``, ``?week=`` and ``?month=`` name other spans; ``?q=`` without a span
searches every day. Previous and next lead to the nearest span that has papers (a weekend or
an arXiv holiday is skipped), in the same kind of span.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from service.catalog.cards import PaperCard, paper_card
from service.catalog.days import Paging, Span, span_of
from service.catalog.listing import Filters, find_papers, in_topic, nearest_day, topic_counts
from service.ingest.day_status import load_day_status

PAGE_SIZE = 60  # a Hugging Face day (30–50 papers) fits on one page


@dataclass(frozen=True, slots=True)
class View:
    """What the reader asked for; SPAN None means the default (the latest day, or all days
    for a search)."""

    span: Span | None = None
    topic: str | None = None
    q: str = ""
    page: int = 1
    size: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class TopicCount:
    slug: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Browse:
    view: View
    span: Span | None  # what is shown: None for a search over every day, or no papers at all
    latest: bool  # the default view: the latest day
    cards: tuple[PaperCard, ...]
    paging: Paging
    previous: Span | None
    next: Span | None
    topics: tuple[TopicCount, ...]  # with papers in the span (the picked topic always)
    switch: tuple[Span, Span, Span] | None  # the day, week and month around what is shown
    # The day's one status line (a source down or late, a holiday), for a day view only.
    status: str | None = None

    @property
    def searching(self) -> bool:
        return bool(self.view.q)


def neighbours(session: Session, span: Span, topic: str | None) -> tuple[Span | None, Span | None]:
    """The nearest spans of SPAN's kind before and after it that have papers (in TOPIC)."""
    where = [in_topic(topic)] if topic else []
    before = nearest_day(session, before=span.start, where=where)
    after = nearest_day(session, after=span.end, where=where)
    return (None if before is None else span_of(span.kind, before),
            None if after is None else span_of(span.kind, after))


def browse(session: Session, view: View, topic_names: dict[str, str]) -> Browse:
    """The papers VIEW shows, ranked (trending, or by relevance for a search), one page of them.
    TOPIC_NAMES (slug → name, in taxonomy order) names and orders the topic counts."""
    span = view.span
    latest = span is None and not view.q
    if latest:
        day = nearest_day(session, where=[in_topic(view.topic)] if view.topic else [])
        span = None if day is None else span_of("day", day)
    filters = Filters(span, view.topic, view.q)
    papers, total = find_papers(session, filters, offset=(view.page - 1) * view.size, limit=view.size)
    previous, following = neighbours(session, span, view.topic) if span is not None else (None, None)
    counts = topic_counts(session, filters)
    topics = tuple(TopicCount(slug, name, counts.get(slug, 0)) for slug, name in topic_names.items()
                   if counts.get(slug) or slug == view.topic)
    switch = switch_views(session, span, view.topic) if span is not None else None
    status = None
    if span is not None and span.kind == "day" and not view.q:
        now = datetime.now(UTC)
        status = load_day_status(session, span.start, now).line(now.date())
    return Browse(view, span, latest, tuple(paper_card(p) for p in papers), Paging(view.page, view.size, total),
                  previous, following, topics, switch, status)


def switch_views(session: Session, span: Span, topic: str | None) -> tuple[Span, Span, Span]:
    """The day, week and month views for the Day | Week | Month switch: around SPAN's day, or for
    a week or month, around its latest day with papers."""
    day = span.start
    if span.kind != "day":
        found = nearest_day(session, before=span.end, where=[in_topic(topic)] if topic else [])
        day = found if found is not None and span.contains(found) else span.start
    return span_of("day", day), span_of("week", day), span_of("month", day)
