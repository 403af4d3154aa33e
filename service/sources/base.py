"""The one protocol every paper source follows, and the guards all of them share.

A source is pure: ``parse(body, content_type)`` turns the bytes of one response into a
``ParseResult``. A document that is wholly unusable raises ``SourceError`` with a one-line
reason; a bad item becomes an ``ItemError`` and the good items around it are kept.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import feedparser

from service.papers import ItemError, PaperIn, ParseResult, SourceError
from service.sources.normalize import html_to_text

Format = Literal["hf", "rss", "atom"]

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
# How far into a document format sniffing looks.
_SNIFF_BYTES = 4_096


class Source(Protocol):
    """What ingestion needs from a source: its kind and a pure parser."""

    @property
    def kind(self) -> str: ...

    def parse(self, body: bytes, content_type: str | None = None) -> ParseResult: ...


@dataclass(frozen=True)
class ParserSource:
    """A ``Source`` made of a kind name and a parse function (one per source module)."""

    kind: str
    parser: Callable[[bytes, str | None], ParseResult]

    def parse(self, body: bytes, content_type: str | None = None) -> ParseResult:
        return self.parser(body, content_type)


class ItemRejected(ValueError):
    """Raised by a source's item converter: this one item is unusable, for this reason."""


# Errors an item converter may hit on odd input (feedparser dicts hold anything).
_ITEM_FAILURES = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


def collect(
    items: Iterable[Any],
    convert: Callable[[Any], PaperIn],
    ident_of: Callable[[Any], str | None],
    *,
    warning: str | None = None,
) -> ParseResult:
    """Convert each item; a failure becomes an ItemError at its index, the rest go on."""
    papers: list[PaperIn] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            papers.append(convert(item))
        except _ITEM_FAILURES as exc:
            errors.append(ItemError(index=index, reason=_reason(exc), ident=_safe_ident(ident_of, item)))
    return ParseResult(papers=papers, errors=errors, warning=warning)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ItemRejected):
        return str(exc)
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:300]


def _safe_ident(ident_of: Callable[[Any], str | None], item: Any) -> str | None:
    try:
        ident = ident_of(item)
    except _ITEM_FAILURES:
        return None
    return ident[:500] if isinstance(ident, str) and ident else None


def clip(text: str, limit: int) -> str:
    """Bound a text field: a hostile feed may carry megabytes in one title."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---- sniffing ---------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def head_text(body: bytes, limit: int = _SNIFF_BYTES) -> str:
    """The start of a document as text, decoded well enough to sniff its format."""
    head = body[:limit]
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    if len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] == 0:
        return head.decode("utf-32-be", errors="ignore")
    if len(head) >= 4 and head[1] == 0 and head[2] == 0 and head[3] == 0:
        return head.decode("utf-32-le", errors="ignore")
    if len(head) >= 2 and head[0] == 0:
        return head.decode("utf-16-be", errors="ignore")
    if len(head) >= 2 and head[1] == 0:
        return head.decode("utf-16-le", errors="ignore")
    return head.decode("utf-8", errors="ignore")


_PROLOG_NOISE = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)
_FIRST_ELEMENT = re.compile(r"<([A-Za-z][\w:.-]*)")
_HTML_ROOTS = frozenset({"html", "head", "body"})


def root_element(body: bytes) -> str | None:
    """Name of the first element (lower-case, prefix kept), skipping the XML prolog."""
    text = _PROLOG_NOISE.sub("", head_text(body))
    match = _FIRST_ELEMENT.search(text)
    return match.group(1).lower() if match else None


def looks_like_html_page(body: bytes) -> bool:
    head = head_text(body).lstrip().lower()
    return head.startswith("<!doctype html") or root_element(body) in _HTML_ROOTS


def detect_format(body: bytes, content_type: str | None = None) -> Format:
    """Say "hf" (JSON), "rss" (RSS 0.9x/1.0/2.0) or "atom": from the body first, then the type."""
    stripped = head_text(body).lstrip()
    if stripped[:1] in ("[", "{"):
        return "hf"
    root = root_element(body)
    if root is not None:
        local = root.rsplit(":", 1)[-1]
        if local == "feed":
            return "atom"
        if local in ("rss", "rdf", "channel"):
            return "rss"
    if looks_like_html_page(body):
        raise SourceError("not a feed: the response is an HTML page")
    if content_type and "json" in content_type.lower():
        return "hf"
    if not stripped:
        raise SourceError("empty response body")
    raise SourceError("cannot tell the format: neither JSON nor an RSS/Atom feed")


# ---- feedparser -------------------------------------------------------------------------

# Entity declarations are how billion-laughs and quadratic-blowup bombs work, and feedparser's
# loose (sgmllib) fallback expands the ones it deems "safe"; so a document that declares any
# is refused before parsing. Outside comments and CDATA, "<!ENTITY" can only be a declaration.
_ENTITY_DECL = "<!ENTITY"
_EBCDIC_ENTITY_DECL = _ENTITY_DECL.encode("cp037")
_COMMENT_OR_CDATA = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.DOTALL)


def refuse_entity_declarations(body: bytes) -> None:
    text = head_text(body, limit=len(body))
    declared = _ENTITY_DECL in text and _ENTITY_DECL in _COMMENT_OR_CDATA.sub("", text)
    if declared or _EBCDIC_ENTITY_DECL in body:
        raise SourceError("refused: the document declares XML entities (possible entity-expansion bomb)")


def parse_feed(body: bytes, content_type: str | None = None) -> tuple[Any, str | None]:
    """Run feedparser on untrusted bytes; return (parsed, warning) or raise SourceError.

    The warning is set when feedparser could only parse the document loosely (bozo) but it
    still yielded entries.
    """
    if not body.strip():
        raise SourceError("empty response body")
    refuse_entity_declarations(body)
    if looks_like_html_page(body):
        raise SourceError("not a feed: the response is an HTML page")
    headers = {"content-type": content_type} if content_type else {}
    try:
        # A BytesIO, never the bytes themselves: feedparser treats a str/bytes argument that
        # looks like a URL or a path as something to open.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # noqa: BLE001 - a third-party parser on hostile input must not crash a worker
        raise SourceError(f"feed parser failed: {type(exc).__name__}") from exc
    entries = parsed.get("entries") or []
    version = parsed.get("version") or ""
    problem = _bozo_reason(parsed)
    if not version and not entries:
        raise SourceError(f"not an RSS/Atom feed{': ' + problem if problem else ''}")
    if problem and not entries and not _is_encoding_only(parsed):
        raise SourceError(f"malformed feed: {problem}")
    return parsed, (f"feed parsed leniently: {problem}" if problem else None)


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    text = (str(exc).strip().splitlines() or [""])[0] if exc is not None else ""
    return f"{type(exc).__name__}: {text}"[:300] if exc is not None else "ill-formed document"


def _is_encoding_only(parsed: Any) -> bool:
    # A wrong charset label or content type is recoverable: the feed itself is well-formed.
    exc = parsed.get("bozo_exception")
    return isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe)


def detail_text(entry: Any, key: str) -> str:
    """An entry's text field as plain text, honouring feedparser's declared content type."""
    value = entry.get(key)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{key}_detail") or {}
    content_type = str(detail.get("type") or "text/html").lower()
    return html_to_text(value, is_html="html" in content_type)


def entry_title(entry: Any) -> str:
    title = clip(detail_text(entry, "title"), MAX_TITLE_CHARS)
    if not title:
        raise ItemRejected("missing title")
    return title


def entry_names(entry: Any) -> list[str]:
    """The names in ``entry.authors`` (all of them; ``entry.author`` is only the last)."""
    names: list[str] = []
    for author in entry.get("authors") or []:
        name = author.get("name") if isinstance(author, dict) else None
        if isinstance(name, str) and name.strip():
            names.append(name)
    return names


def entry_terms(entry: Any) -> list[str]:
    """Category terms from the entry's tags, in order, without duplicates."""
    terms: list[str] = []
    for tag in entry.get("tags") or []:
        term = tag.get("term") if isinstance(tag, dict) else None
        if isinstance(term, str):
            term = html_to_text(term, is_html=False)
            if term and term not in terms:
                terms.append(term)
    return terms


def entry_updated(entry: Any) -> Any:
    """The entry's own updated date; ``dict.get`` skips feedparser's fallback to published."""
    return dict.get(entry, "updated_parsed") or dict.get(entry, "updated")


def entry_ident(entry: Any) -> str | None:
    for key in ("id", "link", "title"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))
