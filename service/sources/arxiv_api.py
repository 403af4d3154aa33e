"""The arXiv API: ``https://export.arxiv.org/api/query`` answers Atom.

Entry ids are versioned abs URLs (``http://arxiv.org/abs/2604.26951v1``); the PDF link is the
one with ``type="application/pdf"`` (its ``title`` attribute is not reliable); every author
is in ``entry.authors`` (feedparser's ``entry.author`` is the last one only). arXiv asks
clients to leave 3 seconds between calls; the fetch layer's ``HostInterval`` does that.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from service.papers import PaperIn, ParseResult, SourceError
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
    is_http_url,
    parse_feed,
)
from service.sources.latex import readable
from service.sources.normalize import arxiv_abs_url, arxiv_pdf_url, clean_names, day_of, parse_arxiv_id, to_utc

KIND = "arxiv_api"
API_URL = "https://export.arxiv.org/api/query"
MIN_INTERVAL_SECONDS = 3.0
SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]
_ERROR_ID_PREFIX = "http://arxiv.org/api/errors"


def query_url(
    search_query: str | None = None,
    *,
    id_list: list[str] | None = None,
    start: int = 0,
    max_results: int = 100,
    sort_by: SortBy = "submittedDate",
    sort_order: SortOrder = "descending",
) -> str:
    """The API URL for a search (``cat:cs.LG AND all:transformer``) and/or a list of ids."""
    if not search_query and not id_list:
        raise ValueError("a search query or an id list is needed")
    if start < 0 or max_results < 1:
        raise ValueError("start must be >= 0 and max_results >= 1")
    params: dict[str, str | int] = {}
    if search_query:
        params["search_query"] = search_query
    if id_list:
        params["id_list"] = ",".join(id_list)
    params.update(start=start, max_results=max_results, sortBy=sort_by, sortOrder=sort_order)
    return f"{API_URL}?{urlencode(params)}"


def parse(body: bytes, content_type: str | None = None) -> ParseResult:
    parsed, warning = parse_feed(body, content_type)
    entries = parsed.entries
    # A bad query is answered 200 with a single entry whose id points at the error docs.
    if len(entries) == 1 and str(entries[0].get("id", "")).startswith(_ERROR_ID_PREFIX):
        raise SourceError(f"arXiv API error: {detail_text(entries[0], 'summary')[:200]}")
    return collect(entries, paper_from_entry, entry_ident, warning=warning)


def paper_from_entry(entry: Any) -> PaperIn:
    arxiv = parse_arxiv_id(entry.get("id")) if isinstance(entry.get("id"), str) else None
    if arxiv is None:
        raise ItemRejected("entry id is not an arXiv abs URL")
    title = readable(entry_title(entry))
    primary = entry.get("arxiv_primary_category")
    primary_term = primary.get("term") if isinstance(primary, dict) else None
    categories = entry_terms(entry)
    if isinstance(primary_term, str) and primary_term and primary_term not in categories:
        categories.insert(0, primary_term)
    return PaperIn(
        uid=f"arxiv:{arxiv.id}",
        arxiv_id=arxiv.id,
        arxiv_version=arxiv.version,
        title=title,
        abstract=clip(readable(detail_text(entry, "summary")), MAX_ABSTRACT_CHARS),
        authors=clean_names(list(entry_names(entry))),
        published_at=to_utc(entry.get("published_parsed") or entry.get("published")),
        updated_at=to_utc(entry_updated(entry)),
        categories=categories,
        primary_category=primary_term if isinstance(primary_term, str) and primary_term else None,
        abs_url=arxiv_abs_url(arxiv.id),
        pdf_url=_pdf_link(entry) or arxiv_pdf_url(arxiv.id),
        # The API says when v1 was submitted, not when it was announced: the closest it has.
        announced_on=day_of(entry.get("published"), entry.get("published_parsed")),
    )


def _pdf_link(entry: Any) -> str | None:
    """The application/pdf link; an arXiv one becomes the canonical, unversioned PDF URL."""
    for link in entry.get("links") or []:
        if isinstance(link, dict) and link.get("type") == "application/pdf" and is_http_url(link.get("href")):
            href = str(link["href"])
            found = parse_arxiv_id(href)
            return arxiv_pdf_url(found.id) if found else href
    return None


SOURCE = ParserSource(KIND, parse)
