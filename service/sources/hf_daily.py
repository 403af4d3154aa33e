"""Hugging Face Daily Papers: ``GET https://huggingface.co/api/daily_papers`` (a JSON list).

Each item holds the paper under ``paper`` (id = bare arXiv id, title, summary, authors,
upvotes...) and a few fields at the top level (organization, numComments, thumbnail).
Upvotes live under ``paper``; the top-level copies of title/summary are fallbacks only.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

from service.papers import PaperIn, ParseResult, SourceError
from service.sources.base import (
    MAX_ABSTRACT_CHARS,
    MAX_TITLE_CHARS,
    ItemRejected,
    ParserSource,
    clip,
    collect,
    is_http_url,
    looks_like_html_page,
)
from service.sources.normalize import (
    arxiv_abs_url,
    arxiv_pdf_url,
    clean_names,
    day_of,
    html_to_text,
    parse_arxiv_id,
    to_utc,
)
from service.sources.latex import readable

KIND = "hf_daily"
API_URL = "https://huggingface.co/api/daily_papers"
PAPER_PAGE = "https://huggingface.co/papers/"
Sort = Literal["trending", "publishedAt"]
# HF paper ids that are not arXiv ids are still simple tokens; anything else is refused.
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


def daily_papers_url(day: date | None = None, *, sort: Sort = "trending", page: int = 0, limit: int = 100) -> str:
    """The request URL for one page of one day. Paging is 0-based; an empty list ends it."""
    if sort not in ("trending", "publishedAt"):
        raise ValueError(f"sort must be 'trending' or 'publishedAt', not {sort!r}")
    if page < 0:
        raise ValueError("page must be 0 or more")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    params: dict[str, str | int] = {}
    if day is not None:
        params["date"] = day.isoformat()
    params.update(sort=sort, p=page, limit=limit)
    return f"{API_URL}?{urlencode(params)}"


def is_last_page(result: ParseResult) -> bool:
    """True when the page held no items at all (HF answers an empty list past the end)."""
    return not result.papers and not result.errors


def parse(body: bytes, content_type: str | None = None) -> ParseResult:
    items, warning = _load_list(body)
    return collect(items, paper_from_item, _ident, warning=warning)


def _load_list(body: bytes) -> tuple[list[Any], str | None]:
    if not body.strip():
        raise SourceError("empty response body")
    if looks_like_html_page(body):
        raise SourceError("not JSON: the response is an HTML page")
    # JSON may be UTF-8/16/32; a stray bad byte costs one character, not the whole day.
    text = body.decode(json.detect_encoding(body), errors="replace")
    warning = "invalid bytes in the response were replaced" if "\ufffd" in text else None
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise SourceError("malformed JSON: nested too deeply") from exc
    if isinstance(data, dict):
        message = data.get("error") or data.get("message")
        if message:
            raise SourceError(f"Hugging Face API error: {str(message)[:200]}")
        raise SourceError("unexpected JSON: expected a list of daily papers, got an object")
    if not isinstance(data, list):
        raise SourceError(f"unexpected JSON: expected a list of daily papers, got {type(data).__name__}")
    return data, warning


def _ident(item: Any) -> str | None:
    paper = item.get("paper") if isinstance(item, dict) else None
    value = paper.get("id") if isinstance(paper, dict) else None
    return str(value) if value is not None else None


def paper_from_item(item: Any) -> PaperIn:
    if not isinstance(item, dict):
        raise ItemRejected(f"item is a {type(item).__name__}, not an object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise ItemRejected("item has no 'paper' object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise ItemRejected("missing paper.id")
    title = clip(readable(html_to_text(_text(paper, "title") or _text(item, "title"), is_html=False)), MAX_TITLE_CHARS)
    if not title:
        raise ItemRejected("missing title")
    summary = _text(paper, "summary") or _text(item, "summary")

    arxiv = parse_arxiv_id(raw_id)
    if arxiv is not None:
        uid, arxiv_id = f"arxiv:{arxiv.id}", arxiv.id
        abs_url, pdf_url = arxiv_abs_url(arxiv.id), arxiv_pdf_url(arxiv.id)
        page_id = arxiv.id
    elif _PLAIN_ID.fullmatch(raw_id.strip()):
        page_id = raw_id.strip()
        uid, arxiv_id, abs_url, pdf_url = f"{KIND}:{page_id}", None, None, None
    else:
        raise ItemRejected("paper.id is neither an arXiv id nor a plain identifier")

    ai_summary = readable(html_to_text(_text(paper, "ai_summary"), is_html=False))
    return PaperIn(
        uid=uid,
        arxiv_id=arxiv_id,
        arxiv_version=arxiv.version if arxiv else None,
        title=title,
        abstract=clip(readable(html_to_text(summary, is_html=False)), MAX_ABSTRACT_CHARS),
        authors=clean_names([a.get("name") for a in paper.get("authors") or [] if isinstance(a, dict)]),
        published_at=to_utc(_text(paper, "publishedAt") or _text(item, "publishedAt")),
        # HF's "daily" date: when the paper was featured (kept apart from the arXiv date).
        updated_at=to_utc(_text(paper, "submittedOnDailyAt")),
        abs_url=abs_url,
        pdf_url=pdf_url,
        hf_url=PAPER_PAGE + page_id,
        upvotes=_count(paper.get("upvotes")),
        num_comments=_count(item.get("numComments")),
        organization=_organization(item.get("organization") or paper.get("organization")),
        github_repo=_url(paper.get("githubRepo")),
        github_stars=_count(paper.get("githubStars")),
        project_page=_url(paper.get("projectPage")),
        thumbnail=_url(item.get("thumbnail")),
        ai_summary=clip(ai_summary, MAX_ABSTRACT_CHARS) or None,
        ai_keywords=_keywords(paper.get("ai_keywords")),
        announced_on=_daily_date(paper, item),
    )


def _daily_date(paper: dict[str, Any], item: dict[str, Any]) -> date | None:
    """The day of the daily list the paper is on (``submittedOnDailyAt``, midnight UTC of that
    day); an item without one falls back to its arXiv date, never to when we read it."""
    for value in (paper.get("submittedOnDailyAt"), paper.get("publishedAt"), item.get("publishedAt")):
        day = day_of(value) if isinstance(value, str) else None
        if day is not None:
            return day
    return None


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    # bool is an int in Python; a true/false upvote count is junk, not 1/0.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _url(value: Any) -> str | None:
    return value.strip() if is_http_url(value) else None


def _organization(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("fullname") or value.get("name")
    if isinstance(value, str):
        return html_to_text(value, is_html=False) or None
    return None


def _keywords(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    words = (html_to_text(v, is_html=False) for v in value if isinstance(v, str))
    return [w for w in words if w]


SOURCE = ParserSource(KIND, parse)
