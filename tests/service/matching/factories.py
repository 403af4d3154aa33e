"""Small builders shared by the matching tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.matching import IndexedPaper, MatchRequest
from service.subscribers.preferences import Preferences

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)
DAY_AGO = NOW - timedelta(days=1)
WEEK_AGO = NOW - timedelta(days=7)


def paper(
    id: int,
    title: str = "Untitled",
    abstract: str = "",
    *,
    authors: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    upvotes: int = 0,
    age_hours: float = 30,
    sources: tuple[str, ...] = ("hf_daily",),
) -> IndexedPaper:
    return IndexedPaper(
        id=id,
        title=title,
        abstract=abstract,
        authors=authors,
        topics=frozenset(topics),
        upvotes=upvotes,
        first_seen_at=NOW - timedelta(hours=age_hours),
        sources=frozenset(sources),
    )


def request(since=WEEK_AGO, already_sent: frozenset[int] = frozenset(), **prefs) -> MatchRequest:
    return MatchRequest(Preferences(**prefs), since, already_sent)
