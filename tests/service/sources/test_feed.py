from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.papers import SourceError
from service.sources import feed


def _rss(*items: str, version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="{version}"><channel><title>Blog</title>'
        f"<link>https://blog.example.com/</link>{''.join(items)}</channel></rss>"
    ).encode()


def test_rss2_guid_is_the_uid() -> None:
    item = (
        "<item><title>Post one</title><link>https://blog.example.com/1</link>"
        "<guid>tag:blog.example.com,2026:1</guid><description>&lt;p&gt;Hello &lt;b&gt;you&lt;/b&gt;&lt;/p&gt;</description>"
        "<author>ann@example.com (Ann Author)</author><category>ml</category>"
        "<pubDate>Tue, 02 Jun 2026 10:00:00 +0200</pubDate></item>"
    )
    paper = feed.parse(_rss(item)).papers[0]
    assert paper.uid == "feed:tag:blog.example.com,2026:1"
    assert paper.arxiv_id is None
    assert (paper.title, paper.abstract) == ("Post one", "Hello you")
    assert paper.abs_url == "https://blog.example.com/1"
    assert paper.authors == ["Ann Author"]
    assert paper.categories == ["ml"]
    assert paper.published_at == datetime(2026, 6, 2, 8, 0, tzinfo=UTC)


def test_link_is_the_uid_without_guid_and_hash_without_either() -> None:
    linked = feed.parse(_rss("<item><title>T</title><link>https://blog.example.com/2</link></item>")).papers[0]
    assert linked.uid == "feed:https://blog.example.com/2"
    bare = feed.parse(_rss("<item><title>Only a title</title><description>Body</description></item>")).papers[0]
    digest = hashlib.sha256(b"Only a title\nBody").hexdigest()
    assert bare.uid == f"feed:sha256:{digest}"


def test_arxiv_link_dedupes_with_the_arxiv_sources() -> None:
    items = (
        "<item><title>Via link</title><link>https://arxiv.org/abs/2604.21935v2</link><guid>post-1</guid></item>",
        "<item><title>Via guid</title><guid>arXiv:hep-th/9901001</guid></item>",
    )
    papers = feed.parse(_rss(*items)).papers
    assert [(p.uid, p.arxiv_version) for p in papers] == [("arxiv:2604.21935", 2), ("arxiv:hep-th/9901001", None)]
    assert papers[0].abs_url == "https://arxiv.org/abs/2604.21935"
    assert papers[0].pdf_url == "https://arxiv.org/pdf/2604.21935"


def test_atom_with_html_content_and_authors() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Lab news</title><id>urn:lab</id>
<updated>2026-06-01T00:00:00Z</updated>
<entry><id>urn:lab:1</id><title type="html">&lt;em&gt;Big&lt;/em&gt; result</title>
<updated>2026-06-01T12:00:00Z</updated>
<author><name>Ann</name></author><author><name>Bob</name></author>
<link rel="alternate" href="https://lab.example.org/1"/>
<link rel="enclosure" type="application/pdf" href="https://lab.example.org/1.pdf"/>
<content type="html">&lt;p&gt;Some &lt;script&gt;alert(1)&lt;/script&gt;findings.&lt;/p&gt;</content></entry></feed>"""
    paper = feed.parse(body).papers[0]
    assert paper.uid == "feed:urn:lab:1"
    assert paper.title == "Big result"
    assert paper.abstract == "Some findings."
    assert paper.authors == ["Ann", "Bob"]
    assert paper.pdf_url == "https://lab.example.org/1.pdf"
    assert paper.updated_at == datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("version", ["0.91", "0.92", "2.0"])
def test_rss_0_9x_and_2(version: str) -> None:
    body = _rss("<item><title>Old school</title><link>https://old.example.com/1</link></item>", version=version)
    assert feed.parse(body).papers[0].uid == "feed:https://old.example.com/1"


def test_rss_1_0_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://x.example/"><title>X</title><link>https://x.example/</link><description>d</description></channel>
<item rdf:about="https://x.example/1"><title>RDF item</title><link>https://x.example/1</link></item>
</rdf:RDF>"""
    paper = feed.parse(body).papers[0]
    assert paper.title == "RDF item" and paper.abs_url == "https://x.example/1"


def test_javascript_link_is_not_a_url() -> None:
    item = "<item><title>T</title><link>javascript:alert(1)</link><guid>g1</guid></item>"
    paper = feed.parse(_rss(item)).papers[0]
    assert paper.abs_url is None and paper.uid == "feed:g1"


def test_item_without_title_is_an_item_error() -> None:
    items = ("<item><title>Good</title><guid>g1</guid></item>", "<item><guid>g2</guid><description>x</description></item>")
    result = feed.parse(_rss(*items))
    assert [p.title for p in result.papers] == ["Good"]
    assert [(e.index, e.reason, e.ident) for e in result.errors] == [(1, "missing title", "g2")]


def test_non_utf8_bytes_with_a_wrong_declaration_still_parse() -> None:
    body = _rss("<item><title>Caf\u00e9 na\u00efve</title><guid>g</guid></item>").replace(
        "\u00e9".encode(), b"\xe9"
    ).replace("\u00ef".encode(), b"\xef")
    result = feed.parse(body)
    assert len(result.papers) == 1
    assert result.papers[0].title.startswith("Caf")


def test_huge_title_is_clipped() -> None:
    paper = feed.parse(_rss(f"<item><title>{'word ' * 10_000}</title><guid>g</guid></item>")).papers[0]
    assert len(paper.title) <= 1_000 and paper.title.endswith("…")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"   ", "empty response body"),
        (b"<!doctype html><html><body><h1>200 OK but not a feed</h1></body></html>", "HTML page"),
        (b"Internal Server Error", "not an RSS/Atom feed"),
        (b"\x00\xff\xfe garbage \x89PNG", "not an RSS/Atom feed"),
    ],
)
def test_unusable_documents(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        feed.parse(body)


def test_recorded_arxiv_feeds_parse_generically_with_arxiv_uids(shared_fixtures: Path) -> None:
    rss = feed.parse((shared_fixtures / "feeds" / "arxiv_rss_cs_ai_2026-04-27.xml").read_bytes())
    assert [p.uid for p in rss.papers] == ["arxiv:2604.21935", "arxiv:2604.21936", "arxiv:2604.21937"]
    atom = feed.parse((shared_fixtures / "feeds" / "arxiv_api_transformer_2026-06.xml").read_bytes())
    assert atom.papers[0].uid == "arxiv:2606.13677" and len(atom.papers) == 5
