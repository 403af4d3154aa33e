from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from service.papers import SourceError
from service.sources import arxiv_api

HEAD = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b'<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
    b"<id>https://arxiv.org/api/x</id><title>arXiv Query</title><updated>2026-04-30T17:33:16Z</updated>"
)


def _entry(
    ident: str = "http://arxiv.org/abs/2604.00001v2",
    *,
    title: str = "A Title",
    authors: tuple[str, ...] = ("First Author", "Middle Author", "Last Author"),
    links: str | None = None,
    summary: str = "Abstract text.",
) -> bytes:
    if links is None:
        links = (
            '<link href="https://arxiv.org/abs/2604.00001v2" rel="alternate" type="text/html"/>'
            '<link href="https://arxiv.org/pdf/2604.00001v2" rel="related" type="application/pdf"/>'
        )
    people = "".join(f"<author><name>{name}</name></author>" for name in authors)
    return (
        f"<entry><id>{ident}</id><title>{title}</title><updated>2026-04-29T17:59:01Z</updated>{links}"
        f"<summary>{summary}</summary>"
        f'<category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>'
        f'<category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>'
        f"<published>2026-04-28T10:00:00Z</published>"
        f'<arxiv:primary_category term="cs.LG"/>{people}</entry>'
    ).encode()


def _feed(*entries: bytes) -> bytes:
    return HEAD + b"".join(entries) + b"</feed>"


def test_recorded_cs_lg_query(shared_fixtures: Path) -> None:
    body = (shared_fixtures / "feeds" / "arxiv_api_cs_lg_2026-04-30.xml").read_bytes()
    result = arxiv_api.parse(body, "application/atom+xml; charset=utf-8")
    assert len(result.papers) == 20 and result.errors == []
    tide = result.papers[0]
    assert (tide.uid, tide.arxiv_id, tide.arxiv_version) == ("arxiv:2604.26951", "2604.26951", 1)
    assert tide.title == "Turning the TIDE: Cross-Architecture Distillation for Diffusion Large Language Models"
    assert tide.authors == ["Gongbo Zhang", "Wen Wang", "Ye Tian", "Li Yuan"]
    assert tide.primary_category == "cs.CL"
    assert tide.categories == ["cs.CL", "cs.AI", "cs.LG"]
    assert tide.pdf_url == "https://arxiv.org/pdf/2604.26951"
    assert tide.abs_url == "https://arxiv.org/abs/2604.26951"
    assert tide.published_at == datetime(2026, 4, 29, 17, 59, 1, tzinfo=UTC)
    assert tide.updated_at == datetime(2026, 4, 29, 17, 59, 1, tzinfo=UTC)
    squint = next(p for p in result.papers if p.arxiv_id == "2604.26926")
    # LaTeX comes out as plain text, once, at parse time (service/sources/latex.py).
    assert squint.title == "A Note on How to Remove the ln ln T Term from the Squint Bound"
    assert "remove the ln ln T factor" in squint.abstract and "$" not in squint.abstract
    assert tide.announced_on == date(2026, 4, 29)  # the API's v1 date: the closest to an announcement
    assert [len(p.authors) for p in result.papers][:7] == [4, 3, 3, 1, 4, 2, 13]
    assert {p.primary_category for p in result.papers} >= {"math.OC", "eess.SP", "cs.DC", "cs.CY"}
    # Wrapped abstracts come out on one line.
    assert all("\n" not in p.abstract and "  " not in p.abstract for p in result.papers)


def test_recorded_transformer_query(shared_fixtures: Path) -> None:
    body = (shared_fixtures / "feeds" / "arxiv_api_transformer_2026-06.xml").read_bytes()
    result = arxiv_api.parse(body)
    assert len(result.papers) == 5
    mana = result.papers[0]
    assert mana.arxiv_id == "2606.13677" and mana.primary_category == "cs.RO"
    assert mana.authors == ["Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu"]
    assert "(<1 minute per tool)" in mana.abstract  # an escaped "<" in plain text stays text


def test_all_authors_not_just_the_last() -> None:
    paper = arxiv_api.parse(_feed(_entry())).papers[0]
    assert paper.authors == ["First Author", "Middle Author", "Last Author"]
    assert paper.arxiv_version == 2 and paper.primary_category == "cs.LG"
    assert paper.categories == ["cs.CL", "cs.LG"]


def test_pdf_link_is_found_by_type_not_title() -> None:
    links = (
        '<link href="https://example.com/slides" rel="related" title="pdf" type="text/html"/>'
        '<link href="http://arxiv.org/pdf/2604.00001v2" rel="related" title="doi" type="application/pdf"/>'
    )
    paper = arxiv_api.parse(_feed(_entry(links=links))).papers[0]
    assert paper.pdf_url == "https://arxiv.org/pdf/2604.00001"


def test_missing_pdf_link_falls_back_to_the_canonical_one() -> None:
    paper = arxiv_api.parse(_feed(_entry(links=""))).papers[0]
    assert paper.pdf_url == "https://arxiv.org/pdf/2604.00001"


def test_old_style_id() -> None:
    paper = arxiv_api.parse(_feed(_entry("http://arxiv.org/abs/hep-th/9901001v1"))).papers[0]
    assert (paper.uid, paper.arxiv_version) == ("arxiv:hep-th/9901001", 1)


def test_bad_entries_next_to_good_ones() -> None:
    result = arxiv_api.parse(
        _feed(
            _entry("http://arxiv.org/abs/2604.00001v1"),
            _entry("https://example.com/not-arxiv"),
            _entry("http://arxiv.org/abs/2604.00003v1", title=""),
            _entry("http://arxiv.org/abs/2604.00004v1"),
        )
    )
    assert [p.arxiv_id for p in result.papers] == ["2604.00001", "2604.00004"]
    assert [(e.index, e.reason, e.ident) for e in result.errors] == [
        (1, "entry id is not an arXiv abs URL", "https://example.com/not-arxiv"),
        (2, "missing title", "http://arxiv.org/abs/2604.00003v1"),
    ]


def test_hostile_title_and_summary() -> None:
    entry = _entry(
        title="T &lt;script&gt;alert(1)&lt;/script&gt;itle",
        summary="Keep $x&lt;y$ but not &lt;img src=x onerror=alert(1)&gt;this.",
    )
    paper = arxiv_api.parse(_feed(entry)).papers[0]
    assert paper.title == "T itle"
    assert paper.abstract == "Keep x<y but not this."  # the comparison survives; the maths is plain text


def test_api_error_feed_raises() -> None:
    error = (
        b"<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id><title>Error</title>"
        b"<summary>incorrect id format for 1234</summary><updated>2026-04-30T00:00:00Z</updated></entry>"
    )
    with pytest.raises(SourceError, match="arXiv API error: incorrect id format for 1234"):
        arxiv_api.parse(_feed(error))


def test_no_results_is_empty_not_an_error() -> None:
    result = arxiv_api.parse(_feed())
    assert result.papers == [] and result.errors == []


def test_query_url() -> None:
    assert arxiv_api.query_url("cat:cs.LG AND all:transformer", max_results=5) == (
        "https://export.arxiv.org/api/query?search_query=cat%3Acs.LG+AND+all%3Atransformer"
        "&start=0&max_results=5&sortBy=submittedDate&sortOrder=descending"
    )
    assert "id_list=2604.26951%2Chep-th%2F9901001" in arxiv_api.query_url(id_list=["2604.26951", "hep-th/9901001"])
    with pytest.raises(ValueError):
        arxiv_api.query_url()
