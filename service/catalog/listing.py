"""Papers by day, topic and search, from the database: the queries behind the front page and
``GET /api/v1/papers``.

A paper's day is ``announced_on`` (the day its source announced it), else the UTC day of its
publication, else of its first sighting. Every filter on the day is written as two branches,
``announced_on`` in range OR (``announced_on`` IS NULL and the fallback in range), so both are
range scans of ix_papers_announced_on rather than one expression over every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Date, Select, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.catalog.days import Span
from service.catalog.search import search_hits
from service.catalog.slugs import PaperRef
from service.storage.models import Paper, PaperTopic, Topic

Order = Literal["trending", "newest"]


def fallback_day(session: Session) -> ColumnElement[date]:
    """The UTC day of published_at, else of first_seen_at (for papers without announced_on)."""
    moment = func.coalesce(Paper.published_at, Paper.first_seen_at)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return type_coerce(func.date(moment), Date)  # SQLite keeps UTC datetimes as ISO text


def day_of(session: Session) -> ColumnElement[date]:
    return type_coerce(func.coalesce(Paper.announced_on, fallback_day(session)), Date)


def _between(value: Any, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    bounds = [] if start is None else [value >= start]
    return bounds + ([] if end is None else [value < end])


def day_within(session: Session, start: date | None, end: date | None) -> ColumnElement[bool]:
    """The paper's day is in [START, END) (either bound may be open)."""
    known = and_(Paper.announced_on.is_not(None), *_between(Paper.announced_on, start, end))
    guessed = and_(Paper.announced_on.is_(None), *_between(fallback_day(session), start, end))
    return or_(known, guessed)


def in_topic(slug: str) -> ColumnElement[bool]:
    return Paper.id.in_(select(PaperTopic.paper_id).join(Topic, Topic.id == PaperTopic.topic_id)
                        .where(Topic.slug == slug))


def nearest_day(session: Session, *, before: date | None = None, after: date | None = None,
                where: Sequence[ColumnElement[bool]] = ()) -> date | None:
    """The latest day with papers before BEFORE (or overall, when neither bound is given), or
    the earliest day with papers on or after AFTER; WHERE narrows the papers (a topic)."""
    pick = func.min if after is not None else func.max
    days = []
    for known, value in ((True, Paper.announced_on), (False, fallback_day(session))):
        present = Paper.announced_on.is_not(None) if known else Paper.announced_on.is_(None)
        query = select(type_coerce(pick(value), Date)).where(present, *_between(value, after, before), *where)
        found = session.scalar(query)
        if found is not None:
            days.append(found)
    if not days:
        return None
    return min(days) if after is not None else max(days)


def find_paper(session: Session, ref: PaperRef) -> Paper | None:
    """The paper a /papers/ address names (by the unique arXiv id, or the row id)."""
    if ref.arxiv_id is not None:
        return session.scalars(select(Paper).where(Paper.arxiv_id == ref.arxiv_id)).one_or_none()
    return session.get(Paper, ref.row_id)


@dataclass(frozen=True, slots=True)
class Filters:
    span: Span | None = None
    topic: str | None = None
    q: str = ""


def filtered(session: Session, filters: Filters, *, with_topic: bool = True) -> tuple[Select[Any], Any]:
    """SELECT papers matching FILTERS, and the search hits subquery (None without a search)."""
    query = select(Paper)
    hits = search_hits(session, filters.q) if filters.q else None
    if filters.q and hits is None:
        return query.where(Paper.id.is_(None)), None  # a query without a word matches nothing
    if hits is not None:
        query = query.join(hits, hits.c.paper_id == Paper.id)
    if filters.span is not None:
        query = query.where(day_within(session, filters.span.start, filters.span.end))
    if with_topic and filters.topic:
        query = query.where(in_topic(filters.topic))
    return query, hits


def find_papers(session: Session, filters: Filters, *, offset: int, limit: int,
                order: Order = "trending") -> tuple[list[Paper], int]:
    """One page of the papers matching FILTERS and how many match in all. A search is ranked by
    relevance; otherwise by upvotes (trending) or newest day first, upvotes breaking ties."""
    query, hits = filtered(session, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    trending = (Paper.upvotes.desc(), func.coalesce(Paper.num_comments, 0).desc(), Paper.id.asc())
    if hits is not None:
        ordered = query.order_by(hits.c.rank.asc(), *trending)
    elif order == "newest":
        ordered = query.order_by(day_of(session).desc(), *trending)
    else:
        ordered = query.order_by(*trending)
    return list(session.scalars(ordered.offset(offset).limit(limit))), total


def topic_counts(session: Session, filters: Filters) -> dict[str, int]:
    """Papers per topic slug among those matching FILTERS (its topic filter left out)."""
    query, _ = filtered(session, filters, with_topic=False)
    ids = query.with_only_columns(Paper.id).subquery()
    counted = (
        select(Topic.slug, func.count())
        .join(PaperTopic, PaperTopic.topic_id == Topic.id)
        .join(ids, ids.c.id == PaperTopic.paper_id)
        .group_by(Topic.slug)
    )
    return {slug: n for slug, n in session.execute(counted)}
