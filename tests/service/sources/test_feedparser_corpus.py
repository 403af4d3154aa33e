"""feedparser's own hostile corpus (ill-formed, odd encodings, hostile HTML) through our parsers:
every file either parses or is refused with SourceError, and no tag survives into text."""

from __future__ import annotations

import io
import re
from pathlib import Path

import feedparser
import pytest

from service.papers import ParseResult, SourceError
from service.sources import feed
from service.sources.base import detail_text

SUBDIRS = ("illformed", "encoding", "wellformed/sanitize")
# A script tag, or any tag carrying an event handler.
HOSTILE = re.compile(r"<\s*/?\s*script|<[^>]*\bon[a-z]+\s*=", re.IGNORECASE)


def _corpus(shared_fixtures: Path) -> list[Path]:
    root = shared_fixtures / "feedparser"
    files = sorted(p for sub in SUBDIRS for p in (root / sub).rglob("*.xml"))
    assert len(files) > 800, f"expected feedparser's corpus under {root}"
    return files


def test_every_corpus_file_parses_or_is_refused(shared_fixtures: Path) -> None:
    outcomes = {"parsed": 0, "refused": 0}
    papers = 0
    for path in _corpus(shared_fixtures):
        try:
            result = feed.parse(path.read_bytes())
        except SourceError as exc:
            assert str(exc) and "\n" not in str(exc), path
            outcomes["refused"] += 1
            continue
        assert isinstance(result, ParseResult), path
        outcomes["parsed"] += 1
        for paper in result.papers:
            papers += 1
            for text in (paper.title, paper.abstract, *paper.authors):
                assert not HOSTILE.search(text), f"{path.name}: {text[:200]!r}"
    # Most of the corpus is well-formed; a handful of ill-formed files are rightly refused.
    assert outcomes["parsed"] > 800 and 0 < outcomes["refused"] < 20
    assert papers > 30


def test_no_tag_survives_in_any_text_field_of_the_sanitize_corpus(shared_fixtures: Path) -> None:
    """Most sanitize cases put the hostile HTML in entries without titles (so they are item
    errors above); check the text of every entry field directly."""
    checked = 0
    for path in (shared_fixtures / "feedparser" / "wellformed" / "sanitize").glob("*.xml"):
        parsed = feedparser.parse(io.BytesIO(path.read_bytes()))
        for entry in parsed.entries:
            fields = [detail_text(entry, key) for key in ("title", "summary")]
            fields += [detail_text(dict(c, value_detail={"type": c.get("type")}), "value") for c in entry.get("content", [])]
            for text in fields:
                checked += 1
                assert not HOSTILE.search(text), f"{path.name}: {text[:200]!r}"
    assert checked > 700


@pytest.mark.parametrize("name", ["rss_empty_document.xml", "aaa_illformed.xml", "rss_incomplete_cdata.xml"])
def test_specific_illformed_files(shared_fixtures: Path, name: str) -> None:
    body = (shared_fixtures / "feedparser" / "illformed" / name).read_bytes()
    try:
        result = feed.parse(body)
    except SourceError as exc:
        assert str(exc)
    else:
        assert result.warning is not None or result.papers or result.errors
