from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from service.papers import SourceError
from service.sources import arxiv_rss

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">'
    b"<channel><title>cs.AI updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.AI</link>"
    b"<description>cs.AI updates</description>"
)
TAIL = b"</channel></rss>"


def _item(
    ident: str = "2604.00001",
    *,
    title: str = "A Title",
    announce: str = "new",
    creator: str = "Ada Lovelace, Alan Turing",
    description: str | None = None,
    guid: str | None = None,
) -> bytes:
    if description is None:
        description = f"arXiv:{ident}v1 Announce Type: {announce} \nAbstract: The abstract of {ident}."
    guid = guid if guid is not None else f"oai:arXiv.org:{ident}v1"
    return (
        f"<item><title>{title}</title><link>https://arxiv.org/abs/{ident}</link>"
        f"<description>{description}</description>"
        f'<guid isPermaLink="false">{guid}</guid><category>cs.AI</category><category>cs.LG</category>'
        f"<pubDate>Mon, 27 Apr 2026 00:00:00 -0400</pubDate>"
        f"<arxiv:announce_type>{announce}</arxiv:announce_type><dc:creator>{creator}</dc:creator></item>"
    ).encode()


def _feed(*items: bytes) -> bytes:
    return HEAD + b"".join(items) + TAIL


def test_recorded_feed(shared_fixtures: Path) -> None:
    body = (shared_fixtures / "feeds" / "arxiv_rss_cs_ai_2026-04-27.xml").read_bytes()
    result = arxiv_rss.parse(body, "application/rss+xml")
    assert result.errors == [] and result.warning is None
    assert [p.uid for p in result.papers] == ["arxiv:2604.21935", "arxiv:2604.21936", "arxiv:2604.21937"]
    assert [p.arxiv_version for p in result.papers] == [1, 1, 1]
    assert [p.announce_type for p in result.papers] == ["new", "new", "new"]
    assert [len(p.authors) for p in result.papers] == [2, 18, 17]
    first, second, _ = result.papers
    assert first.authors == ["Michael Cooper", "Samuel Cooper"]
    assert second.authors[0] == "Lianrui Zuo" and second.authors[-1] == "Bennett A. Landman"
    assert first.title == "Math Takes Two: A test for emergent mathematical reasoning in communication"
    # The "arXiv:<id>v1 Announce Type: new Abstract:" prefix is gone, the abstract is intact.
    assert first.abstract.startswith("Although language models demonstrate remarkable proficiency")
    assert "Announce Type" not in first.abstract and "arXiv:" not in first.abstract
    assert "central: adaptability, the" in second.abstract and "\\textbf" not in second.abstract  # LaTeX made plain
    assert {p.announced_on for p in result.papers} == {date(2026, 4, 27)}  # the items' pubDate, in its own offset
    assert second.categories == ["cs.AI", "cs.CV", "cs.MA"]
    assert first.published_at == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)
    assert first.abs_url == "https://arxiv.org/abs/2604.21935"
    assert first.pdf_url == "https://arxiv.org/pdf/2604.21935"


def test_empty_day_is_a_valid_empty_feed() -> None:
    result = arxiv_rss.parse(_feed())
    assert result.papers == [] and result.errors == [] and result.warning is None


@pytest.mark.parametrize("announce", ["new", "cross", "replace", "replace-cross"])
def test_announce_types(announce: str) -> None:
    assert arxiv_rss.parse(_feed(_item(announce=announce))).papers[0].announce_type == announce


def test_unknown_announce_type_is_dropped_not_fatal() -> None:
    paper = arxiv_rss.parse(_feed(_item(announce="bogus"))).papers[0]
    assert paper.announce_type is None and paper.arxiv_id == "2604.00001"


def test_creator_string_with_and_is_split() -> None:
    paper = arxiv_rss.parse(_feed(_item(creator="A. One, B. Two, and C. Three"))).papers[0]
    assert paper.authors == ["A. One", "B. Two", "C. Three"]


def test_old_style_id_and_replacement_version() -> None:
    item = _item(
        "hep-th/9901001",
        announce="replace",
        description="arXiv:hep-th/9901001v3 Announce Type: replace \nAbstract: Strings.",
        guid="oai:arXiv.org:hep-th/9901001v3",
    )
    paper = arxiv_rss.parse(_feed(item)).papers[0]
    assert (paper.uid, paper.arxiv_version, paper.abstract) == ("arxiv:hep-th/9901001", 3, "Strings.")


def test_bad_item_next_to_good_ones() -> None:
    no_id = _item("x", guid="urn:nothing", description="No prefix here.").replace(
        b"https://arxiv.org/abs/x", b"https://example.com/x"
    )
    no_title = _item("2604.00003", title="")
    result = arxiv_rss.parse(_feed(_item("2604.00001"), no_id, no_title, _item("2604.00004")))
    assert [p.arxiv_id for p in result.papers] == ["2604.00001", "2604.00004"]
    assert [(e.index, e.reason) for e in result.errors] == [
        (1, "no arXiv id in guid, description or link"),
        (2, "missing title"),
    ]
    assert result.errors[0].ident == "urn:nothing"


def test_hostile_markup_in_title_and_description() -> None:
    item = _item(
        title="Nice &lt;script&gt;alert(1)&lt;/script&gt;Title",
        description=(
            "arXiv:2604.00001v1 Announce Type: new \nAbstract: Safe &lt;img src=x onerror=alert(1)&gt;"
            " text &lt;a href=&quot;javascript:alert(1)&quot;&gt;link&lt;/a&gt;."
        ),
    )
    paper = arxiv_rss.parse(_feed(item)).papers[0]
    assert paper.title == "Nice Title"
    assert paper.abstract == "Safe text link."


def test_truncated_feed_keeps_the_complete_items() -> None:
    body = _feed(_item("2604.00001"), _item("2604.00002"))
    cut = body[: body.index(b"2604.00002") + 40]
    result = arxiv_rss.parse(cut)
    assert "2604.00001" in [p.arxiv_id for p in result.papers]
    assert result.warning is not None and result.warning.startswith("feed parsed leniently")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response body"),
        (b"<html><head><title>Error</title></head><body>Service unavailable</body></html>", "HTML page"),
        (b'{"not": "xml"}', "not an RSS/Atom feed"),
        (b"<rss><channel><title>broken", "malformed feed"),
    ],
)
def test_unusable_documents(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        arxiv_rss.parse(body)


def test_feed_url() -> None:
    assert arxiv_rss.feed_url(["cs.AI", "cs.LG", "cs.CL"]) == "https://rss.arxiv.org/rss/cs.AI+cs.LG+cs.CL"
    with pytest.raises(ValueError):
        arxiv_rss.feed_url([])
