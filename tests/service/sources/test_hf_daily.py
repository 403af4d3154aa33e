from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from service.papers import ParseResult, SourceError
from service.sources import hf_daily


def _load(shared_fixtures: Path, name: str) -> ParseResult:
    return hf_daily.parse((shared_fixtures / "feeds" / name).read_bytes(), "application/json")


def _item(paper_id: Any = "2511.01234", **paper: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": paper_id, "title": "A Paper", "summary": "Text.", "authors": [{"name": "Ada"}]}
    fields.update(paper)
    return {"paper": fields}


def _parse(items: Any) -> ParseResult:
    return hf_daily.parse(json.dumps(items).encode())


def test_recorded_day_gives_thirty_papers(shared_fixtures: Path) -> None:
    result = _load(shared_fixtures, "hf_daily_papers_2026-06-12.json")
    assert len(result.papers) == 30
    assert result.errors == [] and result.warning is None
    first = result.papers[0]
    assert first.uid == "arxiv:2606.00467"
    assert first.arxiv_id == "2606.00467" and first.arxiv_version is None
    assert first.authors == ["Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez"]
    assert first.organization == "California institute of technology"
    assert first.hf_url == "https://huggingface.co/papers/2606.00467"
    assert first.abs_url == "https://arxiv.org/abs/2606.00467"
    assert first.pdf_url == "https://arxiv.org/pdf/2606.00467"
    assert first.published_at == datetime(2026, 5, 30, tzinfo=UTC)
    assert first.updated_at == datetime(2026, 6, 12, tzinfo=UTC)  # submittedOnDailyAt
    assert first.num_comments == 2
    assert first.thumbnail == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2606.00467.png"
    assert first.ai_summary is not None and first.ai_summary.startswith("Large language models exhibit")
    assert "decision stickiness" in first.ai_keywords and len(first.ai_keywords) == 14
    second = result.papers[1]
    assert (second.arxiv_id, second.upvotes, len(second.authors)) == ("2606.12730", 5, 8)
    assert second.github_repo == "https://github.com/psychology-of-AI/Rethinking-Pyschometric-Eval-LLMs"
    assert second.github_stars == 1
    assert result.papers[2].project_page == "https://chicychen.github.io/dense-hetero-latent-mas/"
    # Upvotes come from paper.upvotes; the day's total and maximum pin every one of them.
    assert sum(p.upvotes or 0 for p in result.papers) == 453
    assert max(p.upvotes or 0 for p in result.papers) == 118
    assert sum(1 for p in result.papers if p.organization) == 16


def test_trimmed_day_without_optional_ai_fields(shared_fixtures: Path) -> None:
    result = _load(shared_fixtures, "hf_daily_papers_2026-08-03_trimmed.json")
    assert [p.arxiv_id for p in result.papers] == ["2607.26654", "2607.28229", "2607.27851"]
    assert [p.upvotes for p in result.papers] == [3, 4, 2]
    assert [len(p.authors) for p in result.papers] == [7, 12, 5]
    oxford = result.papers[0]
    assert oxford.organization == "University of Oxford"
    assert oxford.github_stars == 2
    assert oxford.project_page == "https://www.lesswrong.com/posts/n5htoDGvKKJFAjji2"
    assert oxford.ai_summary is None and oxford.ai_keywords == []
    assert result.papers[2].github_repo is None and result.papers[2].github_stars is None


def test_upvotes_are_read_under_paper_not_top_level() -> None:
    item = _item(upvotes=7)
    item["upvotes"] = 999
    assert _parse([item]).papers[0].upvotes == 7


def test_top_level_organization_object_wins_and_name_is_a_fallback() -> None:
    item = _item()
    item["organization"] = {"name": "mit"}
    assert _parse([item]).papers[0].organization == "mit"


def test_junk_counts_become_none() -> None:
    paper = _parse([_item(upvotes=True, githubStars="lots")]).papers[0]
    assert paper.upvotes is None and paper.github_stars is None


def test_missing_optional_fields_are_fine() -> None:
    paper = _parse([_item()]).papers[0]
    assert paper.upvotes is None and paper.organization is None and paper.thumbnail is None
    assert paper.title == "A Paper" and paper.authors == ["Ada"]


def test_bad_items_are_reported_and_good_ones_kept() -> None:
    items: list[Any] = [
        _item("2511.00001"),
        _item("2511.00002", title=""),
        "not an object",
        {"title": "no paper object"},
        _item(None),
        _item("2511.00003", title="   <b></b>  "),
        _item("<script>", title="weird id"),
        _item("2511.00004"),
    ]
    result = _parse(items)
    assert [p.arxiv_id for p in result.papers] == ["2511.00001", "2511.00004"]
    assert [(e.index, e.reason) for e in result.errors] == [
        (1, "missing title"),
        (2, "item is a str, not an object"),
        (3, "item has no 'paper' object"),
        (4, "missing paper.id"),
        (5, "missing title"),
        (6, "paper.id is neither an arXiv id nor a plain identifier"),
    ]
    assert result.errors[0].ident == "2511.00002"


def test_non_arxiv_hf_id_gets_a_source_uid() -> None:
    paper = _parse([_item("some-hf-paper")]).papers[0]
    assert paper.uid == "hf_daily:some-hf-paper" and paper.arxiv_id is None
    assert paper.hf_url == "https://huggingface.co/papers/some-hf-paper"
    assert paper.abs_url is None


def test_hostile_html_in_fields_becomes_plain_text() -> None:
    item = _item(
        title='Great <script>alert(1)</script>Paper<img src=x onerror="alert(2)">',
        summary="We show $a<b$ &amp; <iframe src=//evil></iframe>more.",
        authors=[{"name": "<b>Eve</b>"}, {"name": ""}, {"bogus": 1}],
        githubRepo="javascript:alert(1)",
        ai_keywords=["ok", 5, "<i>kw</i>"],
    )
    item["thumbnail"] = "data:text/html,<script>"
    paper = _parse([item]).papers[0]
    assert paper.title == "Great Paper"
    assert paper.abstract == "We show a<b & more."  # no tag, the comparison kept, the maths plain
    assert paper.authors == ["Eve"]
    assert paper.github_repo is None and paper.thumbnail is None
    assert paper.ai_keywords == ["ok", "kw"]


def test_whitespace_in_title_and_abstract_is_collapsed() -> None:
    paper = _parse([_item(title="  A\n   wrapped\ttitle ", summary="line one\n\nline two")]).papers[0]
    assert (paper.title, paper.abstract) == ("A wrapped title", "line one line two")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response body"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "not JSON: the response is an HTML page"),
        (b'[{"paper": {"id": "2511.01234", "title": "A"', "malformed JSON"),
        (b'{"error": "Invalid date"}', "Hugging Face API error: Invalid date"),
        (b'{"papers": []}', "expected a list of daily papers, got an object"),
        (b'"just a string"', "got str"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
    ],
)
def test_unusable_documents_raise_source_error(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason.replace("(", r"\(")):
        hf_daily.parse(body)


def test_non_utf8_bytes_cost_one_character_not_the_day() -> None:
    body = json.dumps([_item(title="Caf\u00e9")]).encode().replace(b"\\u00e9", b"\xe9")
    result = hf_daily.parse(body)
    assert result.papers[0].title == "Caf\ufffd"
    assert result.warning == "invalid bytes in the response were replaced"


def test_utf16_json_with_bom_is_read() -> None:
    body = json.dumps([_item(title="Ünïcode")], ensure_ascii=False).encode("utf-16")
    assert hf_daily.parse(body).papers[0].title == "Ünïcode"


def test_empty_list_is_the_last_page() -> None:
    assert hf_daily.is_last_page(hf_daily.parse(b"[]"))
    assert not hf_daily.is_last_page(_parse([_item()]))
    assert not hf_daily.is_last_page(_parse(["junk"]))  # an item, even a bad one, is not the end


def test_daily_papers_url() -> None:
    assert hf_daily.daily_papers_url(date(2026, 6, 12)) == (
        "https://huggingface.co/api/daily_papers?date=2026-06-12&sort=trending&p=0&limit=100"
    )
    assert hf_daily.daily_papers_url(sort="publishedAt", page=2, limit=50) == (
        "https://huggingface.co/api/daily_papers?sort=publishedAt&p=2&limit=50"
    )
    with pytest.raises(ValueError, match="sort"):
        hf_daily.daily_papers_url(sort="hot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page"):
        hf_daily.daily_papers_url(page=-1)
