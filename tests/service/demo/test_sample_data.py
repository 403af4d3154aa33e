"""The demo's bundled papers parse with the real HF parser, and its cast fits those papers."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.demo.cast import CAST, DemoSubscriber, sample_papers_path
from service.matching.index import PaperIndex
from service.matching.match import match_one
from service.matching.records import IndexedPaper, MatchRequest
from service.papers import PaperIn
from service.subscribers.preferences import Preferences
from service.digests.schedule import FREQUENCIES
from service.sources import hf_daily
from service.topics.taxonomy import classify, load_taxonomy

HOSTILE_TITLE = "Markup Injection in Chat Interfaces: Sanitising HTML in LLM Outputs"
NEW_STYLE_ID = re.compile(r"2611\.\d{5}")


@pytest.fixture(scope="module")
def raw_items() -> list[dict]:
    return json.loads(sample_papers_path().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def papers() -> list[PaperIn]:
    result = hf_daily.parse(sample_papers_path().read_bytes())
    assert result.errors == []
    assert result.warning is None
    return result.papers


def _haystack(paper: PaperIn) -> str:
    return f"{paper.title} {paper.abstract}".casefold()


def test_forty_papers_with_unique_new_style_ids(papers: list[PaperIn]) -> None:
    assert len(papers) == 40
    ids = [p.arxiv_id for p in papers]
    assert all(i is not None and NEW_STYLE_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 40


def test_items_look_like_the_daily_papers_api(raw_items: list[dict], papers: list[PaperIn]) -> None:
    first, last = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC)
    for item, paper in zip(raw_items, papers, strict=True):
        assert 120 <= len(item["paper"]["summary"].split()) <= 220, paper.title
        assert 4 <= len(paper.ai_keywords) <= 8, paper.title
        assert 2 <= len(paper.authors) <= 9, paper.title
        assert paper.upvotes is not None and 0 <= paper.upvotes <= 250
        assert paper.num_comments is not None
        assert paper.published_at is not None and first <= paper.published_at < last
        assert paper.updated_at is not None and first <= paper.updated_at < last
        assert item["paper"]["publishedAt"].endswith(".000Z")
    assert max(p.upvotes or 0 for p in papers) >= 200  # a few big ones, for trending
    assert any(p.organization for p in papers) and any(p.github_repo for p in papers)


def test_accented_author_names_survive(papers: list[PaperIn]) -> None:
    names = {a for p in papers for a in p.authors}
    assert {"Zoë Müller", "José Álvarez"} <= names


def test_latex_in_abstracts_is_made_readable(raw_items: list[dict], papers: list[PaperIn]) -> None:
    assert len([i for i in raw_items if "$" in i["paper"]["summary"]]) == 2  # the file has LaTeX
    assert not [p for p in papers if "$" in p.abstract]  # the parser turns it into plain text
    assert any("O(d log n / n)" in p.abstract for p in papers)


def test_hostile_markup_is_in_the_file_but_stripped_by_the_parser(
    raw_items: list[dict], papers: list[PaperIn]
) -> None:
    raw = [i["paper"] for i in raw_items if i["paper"]["title"].startswith(HOSTILE_TITLE)]
    assert len(raw) == 1
    assert '<script>alert("x")</script>' in raw[0]["title"]
    assert "<img src=x onerror=alert(1)>" in raw[0]["summary"]

    # hf_daily turns titles and summaries into plain text: tags go, the words around them stay.
    (hostile,) = [p for p in papers if p.arxiv_id == raw[0]["id"]]
    assert hostile.title == HOSTILE_TITLE
    assert "emit a payload that the interface then executes" in hostile.abstract
    for paper in papers:
        for text in (paper.title, paper.abstract):
            assert "<script" not in text and "<img" not in text and "onerror" not in text


def test_every_topic_of_the_taxonomy_has_sample_papers(papers: list[PaperIn]) -> None:
    taxonomy = load_taxonomy()
    counts = dict.fromkeys(taxonomy.slugs, 0)
    for paper in papers:
        for slug in classify(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy):
            counts[slug] += 1
    assert min(counts.values()) >= 2, counts


def test_cast_is_five_distinct_demo_addresses_all_due_at_midnight() -> None:
    assert len(CAST) == 5
    assert len({s.email for s in CAST}) == 5
    for member in CAST:
        assert member.email.endswith("@example.org")
        assert member.send_hour == 0
        assert member.frequency in FREQUENCIES
        ZoneInfo(member.timezone)  # raises on an unknown zone
    assert {s.timezone for s in CAST} != {"UTC"}


def test_cast_topics_are_taxonomy_slugs_and_preferences_accept_them() -> None:
    slugs = set(load_taxonomy().slugs)
    for member in CAST:
        assert set(member.topics) <= slugs, member.email
        Preferences.model_validate(_preferences_data(member), context={"topics": slugs})


@pytest.mark.parametrize("member", CAST, ids=lambda m: m.email)
def test_cast_keywords_and_authors_occur_in_the_sample(member: DemoSubscriber, papers: list[PaperIn]) -> None:
    for keyword in member.keywords:
        needle = keyword.strip('"').casefold()
        assert any(needle in _haystack(p) for p in papers), keyword
    for author in member.authors:
        assert any(author.casefold() in (a.casefold() for a in p.authors) for p in papers), author


@pytest.mark.parametrize("member", CAST, ids=lambda m: m.email)
def test_every_cast_member_gets_a_non_empty_digest(member: DemoSubscriber, papers: list[PaperIn]) -> None:
    taxonomy = load_taxonomy()
    now = datetime(2026, 11, 27, tzinfo=UTC)
    indexed = [
        IndexedPaper(
            id=i,
            title=p.title,
            abstract=p.abstract,
            authors=tuple(p.authors),
            topics=frozenset(classify(p.title, p.abstract, p.categories, p.primary_category, taxonomy)),
            upvotes=p.upvotes or 0,
            first_seen_at=now - timedelta(hours=1),
            sources=frozenset({hf_daily.KIND}),
        )
        for i, p in enumerate(papers)
    ]
    prefs = Preferences.model_validate(_preferences_data(member), context={"topics": set(taxonomy.slugs)})
    matches = match_one(MatchRequest(prefs, now - timedelta(days=1)), PaperIndex.build(indexed, now))
    assert 1 <= len(matches) <= member.max_papers
    chosen = [indexed[m.paper_id] for m in matches]
    assert all(p.upvotes >= member.min_upvotes for p in chosen)
    for word in member.exclude:  # bob's "benchmark" keeps Errand-Bench out of his digest
        assert all(word not in f"{p.title} {p.abstract}".casefold() for p in chosen)


def _preferences_data(member: DemoSubscriber) -> dict[str, object]:
    data = asdict(member)
    del data["email"]
    return data
