"""The front page's spans on SQLite and PostgreSQL: the latest day, weeks and months, the day a
paper belongs to (its source's day, else its publication day), neighbours that skip empty days,
the topic filter, search and pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from config.settings import Settings
from service.catalog.browse import Browse, View, browse
from service.catalog.days import parse_span, span_of
from service.catalog.listing import Filters, find_papers
from service.storage.db import session_scope
from service.storage.models import Paper, PaperTopic
from service.topics.store import current_taxonomy, topic_ids

pytestmark = pytest.mark.integration
SEEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # ingested long after: never the paper's day


@pytest.fixture
def papers(db_settings: Settings) -> Settings:
    rows = [  # title, announced_on, published_at, upvotes, topics
        ("Agents that plan", date(2026, 6, 12), None, 5, ["agents"]),
        ("Agents that remember", date(2026, 6, 12), None, 50, ["agents"]),
        ("Late-night LLM paper", None, datetime(2026, 6, 11, 23, 30, tzinfo=UTC), 9, ["llm"]),
        ("Monday paper", date(2026, 6, 8), None, 1, []),
        ("Last week's LLM paper", date(2026, 6, 1), None, 2, ["llm"]),
        ("May paper", date(2026, 5, 20), None, 3, []),
    ]
    with session_scope(db_settings) as session:
        current_taxonomy(session)
        ids = topic_ids(session)
        for title, announced, published, upvotes, topics in rows:
            paper = Paper(uid=f"test:{title}", title=title, abstract=f"{title}.", authors=["Ada Lovelace"],
                          announced_on=announced, published_at=published, first_seen_at=SEEN, upvotes=upvotes)
            session.add(paper)
            session.flush()
            session.add_all(PaperTopic(paper_id=paper.id, topic_id=ids[slug]) for slug in topics)
    return db_settings


def shown(settings: Settings, view: View) -> Browse:
    with session_scope(settings) as session:
        names = {t.slug: t.name for t in current_taxonomy(session).topics}
        return browse(session, view, names)


def titles(result: Browse) -> list[str]:
    return [c.title for c in result.cards]


def test_the_default_is_the_latest_day_most_upvoted_first(papers: Settings) -> None:
    front = shown(papers, View())
    assert front.latest and front.span == span_of("day", date(2026, 6, 12))
    assert titles(front) == ["Agents that remember", "Agents that plan"]
    assert front.previous == span_of("day", date(2026, 6, 11)) and front.next is None  # the fallback day counts
    assert [(t.slug, t.count) for t in front.topics] == [("agents", 2)]
    assert front.switch is not None and [s.value for s in front.switch] == ["2026-06-12", "2026-W24", "2026-06"]


def test_a_paper_without_a_source_day_belongs_to_its_publication_day(papers: Settings) -> None:
    day = shown(papers, View(span=parse_span(day="2026-06-11")))
    assert titles(day) == ["Late-night LLM paper"] and not day.latest
    assert day.previous == span_of("day", date(2026, 6, 8)) and day.next == span_of("day", date(2026, 6, 12))
    assert titles(shown(papers, View(span=parse_span(day="2026-12-01")))) == []  # never the ingestion day


def test_weeks_and_months(papers: Settings) -> None:
    week = shown(papers, View(span=parse_span(week="2026-W24")))
    assert titles(week) == ["Agents that remember", "Late-night LLM paper", "Agents that plan", "Monday paper"]
    assert week.previous == span_of("week", date(2026, 6, 1)) and week.next is None
    assert week.switch is not None and week.switch[0].value == "2026-06-12"  # its latest day with papers
    month = shown(papers, View(span=parse_span(month="2026-06")))
    assert len(month.cards) == 5 and month.previous == span_of("month", date(2026, 5, 1))


def test_an_empty_day_leads_to_the_nearest_days_with_papers(papers: Settings) -> None:
    empty = shown(papers, View(span=parse_span(day="2026-06-10")))
    assert titles(empty) == [] and empty.paging.total == 0
    assert empty.previous == span_of("day", date(2026, 6, 8)) and empty.next == span_of("day", date(2026, 6, 11))


def test_a_topic_shows_its_latest_day_and_its_own_neighbours(papers: Settings) -> None:
    llm = shown(papers, View(topic="llm"))
    assert llm.span == span_of("day", date(2026, 6, 11)) and titles(llm) == ["Late-night LLM paper"]
    assert llm.previous == span_of("day", date(2026, 6, 1)) and llm.next is None
    counts = {t.slug: t.count for t in llm.topics}
    assert counts == {"llm": 1}
    nothing = shown(papers, View(span=parse_span(day="2026-06-12"), topic="llm"))
    assert titles(nothing) == [] and [(t.slug, t.count) for t in nothing.topics] == [("llm", 0), ("agents", 2)]  # taxonomy order


def test_search_over_every_day_or_within_a_span(papers: Settings) -> None:
    everywhere = shown(papers, View(q="paper"))
    assert everywhere.span is None and everywhere.searching and len(everywhere.cards) == 4
    assert set(titles(shown(papers, View(q="llm paper")))) == {"Late-night LLM paper", "Last week's LLM paper"}
    assert titles(shown(papers, View(q="llm paper", span=parse_span(month="2026-06"), topic="llm", page=1))) \
        == ["Late-night LLM paper", "Last week's LLM paper"]
    assert titles(shown(papers, View(q="!!!"))) == []


def test_pages(papers: Settings) -> None:
    june = parse_span(month="2026-06")
    first, second = shown(papers, View(span=june, size=2)), shown(papers, View(span=june, size=2, page=2))
    assert first.paging.pages == 3 and titles(first) == ["Agents that remember", "Late-night LLM paper"]
    assert titles(second) == ["Agents that plan", "Last week's LLM paper"]
    assert titles(shown(papers, View(span=june, size=2, page=9))) == []


def newest(session: Session) -> list[str]:
    found, total = find_papers(session, Filters(), offset=0, limit=10, order="newest")
    assert total == 6
    return [p.title for p in found]


def test_newest_first(papers: Settings) -> None:
    with session_scope(papers) as session:
        assert newest(session) == ["Agents that remember", "Agents that plan", "Late-night LLM paper", "Monday paper",
                                   "Last week's LLM paper", "May paper"]
