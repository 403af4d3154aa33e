"""The sources by kind, and the choice of parser for a document given on the command line with
``--format auto|hf|rss|atom``."""

from __future__ import annotations

from typing import cast

from service.papers import SourceError
from service.sources import arxiv_api, arxiv_rss, feed, hf_daily
from service.sources.base import Format, Source, detect_format, head_text

SOURCES: dict[str, Source] = {s.kind: s for s in (hf_daily.SOURCE, arxiv_rss.SOURCE, arxiv_api.SOURCE, feed.SOURCE)}
FORMATS: tuple[str, ...] = ("auto", "hf", "rss", "atom")


def get_source(kind: str) -> Source:
    try:
        return SOURCES[kind]
    except KeyError:
        raise SourceError(f"unknown source kind {kind!r} (known: {', '.join(sorted(SOURCES))})") from None


def source_for(body: bytes, content_type: str | None = None, fmt: str = "auto") -> Source:
    """The parser for a document: JSON → HF daily; RSS/Atom → the arXiv parser when the
    document is arXiv's own, else the generic feed parser."""
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r} (use one of: {', '.join(FORMATS)})")
    # Checked against FORMATS above, and not "auto": one of Format's values.
    chosen = detect_format(body, content_type) if fmt == "auto" else cast(Format, fmt)
    if chosen == "hf":
        return hf_daily.SOURCE
    head = head_text(body).lower()
    if chosen == "rss":
        return arxiv_rss.SOURCE if "rss.arxiv.org" in head or "arxiv:announce_type" in head else feed.SOURCE
    return arxiv_api.SOURCE if "arxiv.org/api" in head or "arxiv.org/schemas/atom" in head else feed.SOURCE


__all__ = ["FORMATS", "SOURCES", "Source", "SourceError", "detect_format", "get_source", "source_for"]
