"""arXiv's announcement feeds: ``https://rss.arxiv.org/rss/<cats>`` (e.g. ``cs.AI+cs.LG``).

Each item's description starts ``arXiv:<id>v<n> Announce Type: <type> \\nAbstract: ``, which
is stripped; ``dc:creator`` is one comma-separated string of every author. A feed with no
items is a normal day without announcements (weekends, holidays), not an error.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Any

from service.papers import PaperIn, ParseResult
from service.sources.base import (
    MAX_ABSTRACT_CHARS,
    ItemRejected,
    ParserSource,
    clip,
    collect,
    detail_text,
    entry_ident,
    entry_names,
    entry_terms,
    entry_title,
    entry_updated,
    parse_feed,
)
from service.sources.latex import readable
from service.sources.normalize import arxiv_abs_url, arxiv_pdf_url, day_of, parse_arxiv_id, split_authors, to_utc

KIND = "arxiv_rss"
FEED_URL = "https://rss.arxiv.org/rss/"
ANNOUNCE_TYPES = frozenset({"new", "cross", "replace", "replace-cross"})
# Applied to the plain text, after whitespace has been collapsed.
_PREFIX = re.compile(
    r"^arXiv:(?P<id>\S+?)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)


def feed_url(categories: list[str]) -> str:
    """``https://rss.arxiv.org/rss/cs.AI+cs.LG`` for ["cs.AI", "cs.LG"]."""
    if not categories:
        raise ValueError("at least one arXiv category is needed")
    return FEED_URL + "+".join(categories)


def parse(body: bytes, content_type: str | None = None) -> ParseResult:
    parsed, warning = parse_feed(body, content_type)
    channel = parsed.get("feed") or {}
    # The channel's pubDate is the announcement day; an item's own pubDate, when present, wins.
    feed_day = day_of(channel.get("published"), channel.get("published_parsed"))
    return collect(parsed.entries, partial(paper_from_entry, feed_day=feed_day), entry_ident, warning=warning)


def split_description(text: str) -> tuple[str, str | None, str | None]:
    """(abstract, arXiv id as cited, announce type) from a description's plain text."""
    match = _PREFIX.match(text)
    if not match:
        return text, None, None
    return text[match.end() :].strip(), match.group("id"), match.group("type").lower()


def paper_from_entry(entry: Any, feed_day: date | None = None) -> PaperIn:
    title = readable(entry_title(entry))
    abstract, cited_id, prefix_type = split_description(detail_text(entry, "summary"))
    abstract = readable(abstract)
    arxiv = None
    for candidate in (entry.get("id"), cited_id, entry.get("link")):
        arxiv = parse_arxiv_id(candidate) if isinstance(candidate, str) else None
        if arxiv is not None:
            break
    if arxiv is None:
        raise ItemRejected("no arXiv id in guid, description or link")
    # The guid ("oai:arXiv.org:2604.21935v1") and the prefix both carry the version.
    version = arxiv.version
    if version is None and cited_id:
        cited = parse_arxiv_id(cited_id)
        version = cited.version if cited and cited.id == arxiv.id else None

    announce = entry.get("arxiv_announce_type")
    announce_type = announce.strip().lower() if isinstance(announce, str) and announce.strip() else prefix_type
    if announce_type not in ANNOUNCE_TYPES:
        announce_type = None

    authors: list[str] = []
    for name in entry_names(entry):
        authors.extend(split_authors(detail_text({"name": name}, "name")))

    return PaperIn(
        uid=f"arxiv:{arxiv.id}",
        arxiv_id=arxiv.id,
        arxiv_version=version,
        title=title,
        abstract=clip(abstract, MAX_ABSTRACT_CHARS),
        authors=authors,
        published_at=to_utc(entry.get("published_parsed") or entry.get("published")),
        updated_at=to_utc(entry_updated(entry)),
        categories=entry_terms(entry),
        abs_url=arxiv_abs_url(arxiv.id),
        pdf_url=arxiv_pdf_url(arxiv.id),
        announce_type=announce_type,
        announced_on=day_of(dict.get(entry, "published"), dict.get(entry, "published_parsed")) or feed_day,
    )


SOURCE = ParserSource(KIND, parse)
