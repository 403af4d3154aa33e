"""Any RSS 0.9x/1.0/2.0 or Atom feed, via feedparser.

The uid is "feed:<guid>", else "feed:<link>", else "feed:sha256:<hash of title+content>".
An item whose guid or link is an arXiv URL/id becomes "arxiv:<bare id>", so it merges with
the same paper from the arXiv and Hugging Face sources.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from service.papers import PaperIn, ParseResult
from service.sources.base import (
    MAX_ABSTRACT_CHARS,
    ParserSource,
    clip,
    collect,
    detail_text,
    entry_ident,
    entry_names,
    entry_terms,
    entry_title,
    entry_updated,
    is_http_url,
    parse_feed,
)
from service.sources.latex import readable
from service.sources.normalize import (
    ArxivId,
    arxiv_abs_url,
    arxiv_pdf_url,
    clean_names,
    collapse_whitespace,
    day_of,
    parse_arxiv_id,
    to_utc,
)

KIND = "feed"
_MAX_GUID_CHARS = 500


def parse(body: bytes, content_type: str | None = None) -> ParseResult:
    parsed, warning = parse_feed(body, content_type)
    return collect(parsed.entries, paper_from_entry, entry_ident, warning=warning)


def paper_from_entry(entry: Any) -> PaperIn:
    title = readable(entry_title(entry))
    abstract = clip(readable(_abstract(entry)), MAX_ABSTRACT_CHARS)
    guid = _clean(entry.get("id"))
    link = _clean(entry.get("link"))
    arxiv = next((found for found in map(_arxiv_in, (guid, link)) if found is not None), None)
    abs_url: str | None
    pdf_url: str | None
    if arxiv is not None:
        uid = f"arxiv:{arxiv.id}"
        abs_url, pdf_url = arxiv_abs_url(arxiv.id), arxiv_pdf_url(arxiv.id)
    else:
        uid = f"{KIND}:{guid or link or 'sha256:' + _digest(title, abstract)}"
        abs_url = link if is_http_url(link) else None
        pdf_url = _pdf_link(entry)
    return PaperIn(
        uid=uid,
        arxiv_id=arxiv.id if arxiv else None,
        arxiv_version=arxiv.version if arxiv else None,
        title=title,
        abstract=abstract,
        authors=clean_names(list(entry_names(entry))),
        published_at=to_utc(entry.get("published_parsed") or entry_updated(entry)),
        updated_at=to_utc(entry_updated(entry)),
        categories=entry_terms(entry),
        abs_url=abs_url,
        pdf_url=pdf_url,
        announced_on=_published_day(entry),
    )


def _published_day(entry: Any) -> date | None:
    """The day the feed dated the item: published, else updated (``dict.get`` skips
    feedparser's own fallbacks, so which one counted stays clear)."""
    for key in ("published", "updated"):
        day = day_of(dict.get(entry, key), dict.get(entry, f"{key}_parsed"))
        if day is not None:
            return day
    return None


def _clean(value: Any) -> str:
    return collapse_whitespace(value)[:_MAX_GUID_CHARS] if isinstance(value, str) else ""


def _arxiv_in(value: str) -> ArxivId | None:
    return parse_arxiv_id(value) if value else None


def _abstract(entry: Any) -> str:
    text = detail_text(entry, "summary")
    if text:
        return text
    for content in entry.get("content") or []:
        if isinstance(content, dict):
            text = detail_text(content, "value") if "value_detail" in content else _content_text(content)
            if text:
                return text
    return ""


def _content_text(content: dict[str, Any]) -> str:
    # feedparser's content items carry their type beside the value, not in a *_detail dict.
    return detail_text({"value": content.get("value"), "value_detail": {"type": content.get("type")}}, "value")


def _digest(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title}\n{abstract}".encode()).hexdigest()


def _pdf_link(entry: Any) -> str | None:
    for link in entry.get("links") or []:
        if isinstance(link, dict) and link.get("type") == "application/pdf" and is_http_url(link.get("href")):
            return str(link["href"])
    return None


SOURCE = ParserSource(KIND, parse)
