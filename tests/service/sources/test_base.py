from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from service.papers import SourceError
from service.sources import SOURCES, arxiv_api, arxiv_rss, detect_format, feed, get_source, hf_daily, source_for
from service.sources.base import collect, head_text, parse_feed

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title><guid>g</guid></item></channel></rss>"""


def _quadratic_blowup() -> bytes:
    # One "safe" entity (no references inside, so feedparser keeps it), referenced many times:
    # 50 kB x 20,000 references would expand to 1 GB.
    value = b"A" * 50_000
    refs = b"&big;" * 20_000
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + value + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>' + refs + b"</title><guid>g</guid></item>"
        b"</channel></rss>"
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("parser", [feed.parse, arxiv_rss.parse, arxiv_api.parse])
@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, _quadratic_blowup()], ids=["billion-laughs", "quadratic"])
def test_entity_bombs_are_refused_without_expanding(parser: object, bomb: bytes) -> None:
    before = _peak_rss_mb()
    started = time.monotonic()
    with pytest.raises(SourceError, match="declares XML entities"):
        parser(bomb)  # type: ignore[operator]
    assert time.monotonic() - started < 1.0
    assert _peak_rss_mb() - before < 50


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_entity_bombs_in_wide_encodings_are_refused_too(encoding: str) -> None:
    body = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    with pytest.raises(SourceError, match="declares XML entities"):
        feed.parse(body.encode(encoding))


def test_why_the_guard_exists_feedparser_loose_mode_expands_safe_entities() -> None:
    """feedparser keeps entities it considers safe and its sgmllib fallback expands them:
    without the guard, a small document grows by the reference count (the quadratic bomb)."""
    import io

    import feedparser

    value = b"A" * 1_000
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + value + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>' + b"&big;" * 100 + b"</title>"
        b"<broken></item></channel></rss>"
    )
    parsed = feedparser.parse(io.BytesIO(body))
    assert len(parsed.entries[0].title) >= 100_000


def test_external_entities_are_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title></item></channel></rss>'
    ).encode()
    with pytest.raises(SourceError, match="declares XML entities"):
        feed.parse(body)


def test_entity_declaration_hidden_behind_a_comment_is_still_refused() -> None:
    body = BILLION_LAUGHS.replace(b"<!DOCTYPE rss [", b"<!-- <a --><!DOCTYPE rss [ <!-- ]> -->")
    with pytest.raises(SourceError, match="declares XML entities"):
        feed.parse(body)


def test_entity_text_inside_cdata_or_escaped_is_just_text() -> None:
    body = (
        b'<rss version="2.0"><channel><title>XML tips</title><item><title>On &lt;!ENTITY&gt;</title>'
        b"<guid>g</guid><description><![CDATA[<p>Never write <!ENTITY lol \"lol\"> in a feed.</p>]]>"
        b"</description></item></channel></rss>"
    )
    paper = feed.parse(body).papers[0]
    assert paper.title == "On <!ENTITY>"
    assert "in a feed." in paper.abstract


def test_plain_doctype_without_entities_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
        b"<link>https://x.example/</link><description>d</description>"
        b"<item><title>Netscape</title><link>https://x.example/1</link></item></channel></rss>"
    )
    assert feed.parse(body).papers[0].title == "Netscape"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'[{"paper": {}}]', None, "hf"),
        (b"\xef\xbb\xbf  []", "text/plain", "hf"),
        (b'{"error": "x"}', "application/json", "hf"),
        (b'<?xml version="1.0"?>\n<!-- c --><rss version="2.0"></rss>', None, "rss"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>', None, "rss"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>', "text/html", "atom"),
        (b'<atom:feed xmlns:atom="http://www.w3.org/2005/Atom"></atom:feed>', None, "atom"),
        ('<?xml version="1.0" encoding="utf-16"?><feed></feed>'.encode("utf-16"), None, "atom"),
        ('<rss version="2.0"></rss>'.encode("utf-32-le"), None, "rss"),
    ],
)
def test_detect_format(body: bytes, content_type: str | None, expected: str) -> None:
    assert detect_format(body, content_type) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html>\n<html><body>Oops</body></html>", "HTML page"),
        (b"", "empty response body"),
        (b"Too many requests", "cannot tell the format"),
    ],
)
def test_detect_format_refuses_non_feeds(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        detect_format(body, "text/html")


def test_source_for_picks_arxiv_parsers_for_arxiv_documents(shared_fixtures: Path) -> None:
    feeds = shared_fixtures / "feeds"
    assert source_for((feeds / "hf_daily_papers_2026-06-12.json").read_bytes()).kind == "hf_daily"
    assert source_for((feeds / "arxiv_rss_cs_ai_2026-04-27.xml").read_bytes()).kind == "arxiv_rss"
    assert source_for((feeds / "arxiv_api_cs_lg_2026-04-30.xml").read_bytes()).kind == "arxiv_api"
    blog = b'<rss version="2.0"><channel><title>Blog</title></channel></rss>'
    assert source_for(blog).kind == "feed"
    assert source_for(b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>', fmt="atom").kind == "feed"
    assert source_for(b"[]", fmt="hf").kind == "hf_daily"
    with pytest.raises(SourceError, match="unknown format"):
        source_for(blog, fmt="csv")


def test_registry_lists_every_kind() -> None:
    assert set(SOURCES) == {"hf_daily", "arxiv_rss", "arxiv_api", "feed"}
    assert get_source("hf_daily") is hf_daily.SOURCE
    assert get_source("feed").parse(b'<rss version="2.0"><channel><title>x</title></channel></rss>').papers == []
    with pytest.raises(SourceError, match="unknown source kind 'nope'"):
        get_source("nope")


def test_collect_turns_exceptions_into_item_errors() -> None:
    def convert(item: object) -> object:
        if item == "boom":
            raise KeyError("title")
        raise TypeError("unexpected\nsecond line")

    result = collect(["boom", "x"], convert, lambda item: str(item))  # type: ignore[arg-type]
    assert [(e.index, e.reason, e.ident) for e in result.errors] == [
        (0, "KeyError: 'title'", "boom"),
        (1, "TypeError: unexpected", "x"),
    ]


def test_parse_feed_warns_on_lenient_parse_and_refuses_broken_empty() -> None:
    lenient = b'<rss version="2.0"><channel><title>t</title><item><title>A & B</title></item></channel></rss>'
    parsed, warning = parse_feed(lenient)
    assert len(parsed.entries) == 1 and warning is not None and "leniently" in warning
    with pytest.raises(SourceError, match="malformed feed"):
        parse_feed(b'<rss version="2.0"><channel><title>t</ti')


def test_head_text_handles_boms_and_wide_encodings() -> None:
    assert head_text("\ufeff<rss>".encode("utf-8")) == "<rss>"
    assert head_text("<rss>".encode("utf-16-le")) == "<rss>"
    assert head_text("<rss>".encode("utf-32-be")) == "<rss>"
