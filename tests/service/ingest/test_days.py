"""A paper's day on SQLite and PostgreSQL: each source dates it, the earliest day wins, what it had
on its day is kept apart from what it gains later, the same document twice changes nothing, and
stored text has its LaTeX made readable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.ingest.backfill import dated
from service.ingest.poll import ingest_document
from service.papers import PaperIn, ParseResult
from service.storage.db import session_scope
from service.storage.models import Paper, PaperTopic
from tests.service.ingest.documents import arxiv_atom, arxiv_rss, hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 9, tzinfo=UTC)  # the day of hf_item's default list
FRIDAY = THURSDAY + timedelta(days=1)
RECORDED = {
    "hf_daily_papers_2026-06-12.json": date(2026, 6, 12),
    "hf_daily_papers_2026-08-03_trimmed.json": date(2026, 8, 3),
    "arxiv_rss_cs_ai_2026-04-27.xml": date(2026, 4, 27),
    "arxiv_api_cs_lg_2026-04-30.xml": date(2026, 4, 29),
    "arxiv_api_transformer_2026-06.xml": date(2026, 6, 11),
}


def row(settings: Settings, arxiv_id: str) -> Paper:
    with session_scope(settings) as session:
        return session.scalars(select(Paper).where(Paper.arxiv_id == arxiv_id)).one()


def snapshot(settings: Settings) -> list[tuple[object, ...]]:
    """Every column of every paper, and every paper-topic pair, in a stable order."""
    with session_scope(settings) as session:
        columns = list(Paper.__table__.columns)
        papers = [tuple(r) for r in session.execute(select(*columns).order_by(Paper.id))]
        pairs = [tuple(r) for r in session.execute(select(PaperTopic.paper_id, PaperTopic.topic_id)
                                                   .order_by(PaperTopic.paper_id, PaperTopic.topic_id))]
        return [*papers, ("topics", *pairs)]


def test_each_recorded_source_dates_its_papers(db_settings: Settings, shared_fixtures: Path) -> None:
    for name, day in RECORDED.items():
        body = (shared_fixtures / "feeds" / name).read_bytes()
        ingest_document(db_settings, body, source_name=name.split("_2026")[0], now=datetime(2026, 12, 1, tzinfo=UTC))
    with session_scope(db_settings) as session:
        days = {names[0]: set() for names in session.scalars(select(Paper.source_names))}
        for names, announced in session.execute(select(Paper.source_names, Paper.announced_on)):
            days[names[0]].add(announced)
    assert days["hf_daily_papers"] == {date(2026, 6, 12), date(2026, 8, 3)}
    assert days["arxiv_rss_cs_ai"] == {date(2026, 4, 27)}
    assert days["arxiv_api_cs_lg"] == {date(2026, 4, 29)} and days["arxiv_api_transformer"] == {date(2026, 6, 11)}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_an_old_file_ingested_again_changes_nothing(db_settings: Settings, shared_fixtures: Path, name: str) -> None:
    body = (shared_fixtures / "feeds" / name).read_bytes()
    first = ingest_document(db_settings, body, source_name="recorded", now=datetime(2026, 12, 1, 6, tzinfo=UTC))
    before = snapshot(db_settings)
    again = ingest_document(db_settings, body, source_name="recorded", now=datetime(2026, 12, 3, 6, tzinfo=UTC))
    assert (again.new, again.updated, again.unchanged) == (0, 0, first.new)
    assert snapshot(db_settings) == before  # row for row, updated_at included
    with session_scope(db_settings) as session:
        assert set(session.scalars(select(Paper.announced_on))) == {RECORDED[name]}  # its day, not Dec 1


def test_a_feed_item_without_a_date_belongs_to_the_day_it_was_first_seen(db_settings: Settings) -> None:
    feed = b"""<rss version="2.0"><channel><title>Lab blog</title><link>https://lab.example/</link>
<item><title>Undated post</title><link>https://lab.example/p/1</link><description>Text.</description></item>
</channel></rss>"""
    ingest_document(db_settings, feed, source_name="blog", now=THURSDAY)
    ingest_document(db_settings, feed, source_name="blog", now=FRIDAY)
    with session_scope(db_settings) as session:
        assert session.scalars(select(Paper.announced_on)).one() == THURSDAY.date()


def test_the_earliest_day_wins_and_a_later_announcement_never_moves_it(db_settings: Settings) -> None:
    # arXiv announces it on Thursday; Hugging Face features it on Saturday: it stays Thursday's.
    ingest_document(db_settings, arxiv_rss(("2611.00011", "new", "Paper")), source_name="arxiv", now=THURSDAY)
    ingest_document(db_settings, hf_json(hf_item("2611.00011", "Paper", 30, day="2026-11-28")),
                    source_name="hf-daily", now=THURSDAY + timedelta(days=2))
    assert row(db_settings, "2611.00011").announced_on == date(2026, 11, 26)
    ingest_document(db_settings, arxiv_rss(("2611.00011", "replace", "Paper, revised")), source_name="arxiv",
                    now=THURSDAY + timedelta(days=9))
    assert row(db_settings, "2611.00011").announced_on == date(2026, 11, 26)
    # Hugging Face first (Nov 26), then the arXiv API says v1 came out on Nov 25: the earlier day.
    ingest_document(db_settings, hf_json(hf_item("2611.00012", "Other", 3)), source_name="hf-daily", now=THURSDAY)
    ingest_document(db_settings, arxiv_atom("2611.00012", 1, "Other"), source_name="arxiv-api", now=FRIDAY)
    assert row(db_settings, "2611.00012").announced_on == date(2026, 11, 25)


def test_upvotes_on_the_day_are_kept_apart_from_those_gained_after(db_settings: Settings) -> None:
    def poll(upvotes: int, now: datetime, **paper: object) -> Paper:
        ingest_document(db_settings, hf_json(hf_item("2611.00013", "Trending later", upvotes, **paper)),
                        source_name="hf-daily", now=now)
        return row(db_settings, "2611.00013")

    assert poll(3, THURSDAY).day_upvotes == 3
    assert poll(9, THURSDAY + timedelta(hours=10)).day_upvotes == 9  # still its day (UTC)
    later = poll(120, FRIDAY + timedelta(hours=3))
    assert (later.upvotes, later.day_upvotes) == (120, 9)
    assert later.code_added_at is None  # it came with its code link


def test_a_code_link_that_appears_after_the_day_is_dated(db_settings: Settings) -> None:
    def poll(now: datetime, repo: str | None, arxiv_id: str = "2611.00014") -> Paper:
        ingest_document(db_settings, hf_json(hf_item(arxiv_id, "Code later", 5, githubRepo=repo)),
                        source_name="hf-daily", now=now)
        return row(db_settings, arxiv_id)

    assert poll(THURSDAY, None).code_added_at is None
    assert poll(THURSDAY + timedelta(hours=5), None).code_added_at is None
    released = FRIDAY + timedelta(hours=4)
    assert poll(released, "https://github.com/example/later").code_added_at == released
    # a new link later, or the same again, does not move it
    assert poll(released + timedelta(days=1), "https://github.com/example/moved").code_added_at == released
    # code that comes during the paper's own day is part of that day, not news
    assert poll(THURSDAY, None, "2611.00015").code_added_at is None
    assert poll(THURSDAY + timedelta(hours=8), "https://github.com/x/y", "2611.00015").code_added_at is None


def test_latex_is_stored_readable_and_old_raw_rows_are_cleaned_when_seen_again(db_settings: Settings) -> None:
    ingest_document(db_settings, arxiv_atom("2611.00016", 1, r"Bounds of $\mathcal{O}(2^{n})$",
                                            r"We \emph{prove} $\alpha$-mixing."), source_name="arxiv", now=THURSDAY)
    stored = row(db_settings, "2611.00016")
    assert (stored.title, stored.abstract) == ("Bounds of O(2^n)", "We prove α-mixing.")
    # a row stored before ingestion cleaned LaTeX, then reported again by a source that does not
    # own the title: it takes the cleaned text, being the same text
    with session_scope(db_settings) as session:
        session.add(Paper(uid="arxiv:2611.00017", arxiv_id="2611.00017", title=r"Old $2^{n}$ row",
                          abstract=r"Raw \emph{text}.", authors=[], categories=[], first_seen_at=THURSDAY,
                          updated_at=THURSDAY, announced_on=THURSDAY.date(), day_upvotes=0))
    ingest_document(db_settings, hf_json(hf_item("2611.00017", r"Old $2^{n}$ row", 4, r"Raw \emph{text}.")),
                    source_name="hf-daily", now=FRIDAY)
    cleaned = row(db_settings, "2611.00017")
    assert (cleaned.title, cleaned.abstract) == ("Old 2^n row", "Raw text.")


def test_a_backfilled_page_dates_what_it_did_not_date_itself() -> None:
    undated = PaperIn(uid="hf_daily:x", title="x")
    own = PaperIn(uid="hf_daily:y", title="y", announced_on=date(2026, 11, 3))
    result = dated(ParseResult(papers=[undated, own]), date(2026, 11, 5))
    assert [p.announced_on for p in result.papers] == [date(2026, 11, 5), date(2026, 11, 3)]
