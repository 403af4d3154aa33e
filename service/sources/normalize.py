"""Pure helpers that turn what a source said into normalised values.

Text arrives from feeds as HTML, as HTML-escaped HTML, or as plain text with LaTeX in it.
Everything here is deterministic and does no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from time import struct_time
from typing import NamedTuple
from urllib.parse import urlsplit

# HTML element names (HTML 5 plus common obsolete ones). In text that is not declared HTML,
# only these count as tags, so LaTeX such as "$a<b$ and $c>d$" survives as written.
HTML_ELEMENTS = frozenset(
    ["a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b", "base", "basefont", "bdi", "bdo", "bgsound", "big", "blink", "blockquote", "body", "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption", "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "image", "img", "input", "ins", "isindex", "kbd", "keygen", "label", "layer", "legend", "li", "link", "listing", "main", "map", "mark", "marquee", "math", "menu", "meta", "meter", "multicol", "nav", "nobr", "noembed", "noframes", "noscript", "object", "ol", "optgroup", "option", "output", "p", "param", "picture", "plaintext", "pre", "progress", "q", "rb", "rp", "rt", "rtc", "ruby", "s", "samp", "script", "search", "section", "select", "slot", "small", "source", "spacer", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u", "ul", "var", "video", "wbr", "xmp"]
)
# Elements whose content is never readable text.
_DROP_CONTENT = frozenset(
    ["script", "style", "iframe", "object", "embed", "applet", "noscript", "noembed", "noframes", "template", "title", "head", "svg", "math", "xmp"]
)
# Elements that separate words when rendered; replaced by a space.
_BLOCK = frozenset(
    ["address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"]
)
_WHITESPACE = re.compile(r"\s+")
_MAX_UNESCAPE_PASSES = 3


# C0 controls (NUL above all: PostgreSQL refuses it in text) and DEL carry no meaning in a title.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def collapse_whitespace(text: str | None) -> str:
    """Runs of spaces, tabs and newlines become one space; control characters go; ends are trimmed."""
    return _WHITESPACE.sub(" ", _CONTROLS.sub("", text or "")).strip()


# A "<" that does not open a known element, a comment, CDATA or a declaration is text.
_NOT_A_TAG = re.compile(
    r"<(?!/?(?:" + "|".join(sorted(HTML_ELEMENTS, key=len, reverse=True)) + r")(?=[\s/>])|!--|!\[CDATA\[|!doctype|\?)",
    re.IGNORECASE,
)


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; drops tags, comments and script-like content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.found_tag = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found_tag = True
        if tag in _DROP_CONTENT:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found_tag = True
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.found_tag = True
        if tag in _DROP_CONTENT:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)

    def handle_comment(self, data: str) -> None:
        self.found_tag = True

    def handle_decl(self, decl: str) -> None:
        self.found_tag = True

    def handle_pi(self, data: str) -> None:
        self.found_tag = True

    def unknown_decl(self, data: str) -> None:
        # CDATA sections and other marked sections: keep their text.
        if data.upper().startswith("CDATA[") and not self.skip_depth:
            self.parts.append(data[6:])


def _extract(text: str, *, only_known_elements: bool) -> tuple[str, bool]:
    if only_known_elements:
        # Before the parser sees it, so "$a<b$ and $c>d$" is not read as a tag named "b$".
        text = _NOT_A_TAG.sub("&lt;", text)
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts), parser.found_tag


def html_to_text(value: str | None, *, is_html: bool = True) -> str:
    """Plain text of a title or summary: tags stripped, entities unescaped, whitespace collapsed.

    ``is_html=False`` is for text that is declared plain (arXiv API, HF JSON): only real HTML
    element names count as tags there, so LaTeX comparisons are kept. Markup that was escaped
    once more (``&lt;script&gt;``) is stripped too: no tag may survive into a text field.
    """
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return collapse_whitespace(value)  # nothing for a parser to do: most names and keywords
    text, _ = _extract(value, only_known_elements=not is_html)
    for _ in range(_MAX_UNESCAPE_PASSES):
        if "<" not in text:
            break
        again, found = _extract(text, only_known_elements=True)
        if not found:
            break
        text = again
    return collapse_whitespace(text)


def to_utc(value: str | datetime | struct_time | None) -> datetime | None:
    """A timezone-aware UTC datetime from ISO 8601, RFC 822, a datetime or a UTC struct_time.

    Naive values are taken as UTC; anything unparseable gives None (a date is never worth
    rejecting a paper over).
    """
    if value is None or value == "":
        return None
    if isinstance(value, struct_time):
        # feedparser's *_parsed fields are already normalised to UTC.
        try:
            return datetime(*value[:6], tzinfo=UTC)
        except (ValueError, TypeError):
            return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed_or_none = _parse_date_string(value.strip())
        if parsed_or_none is None:
            return None
        parsed = parsed_or_none
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def day_of(raw: object, parsed: str | datetime | struct_time | None = None) -> date | None:
    """The calendar day a source dated something: the day in the source's own UTC offset when
    RAW is a date string that carries one ("Mon, 27 Apr 2026 00:00:00 -0400" is Apr 27, as
    arXiv means it), else the UTC day of RAW or PARSED; None when neither is a date."""
    if isinstance(raw, str) and raw.strip():
        stated = _parse_date_string(raw.strip())
        if stated is not None:
            return stated.date()
    moment = to_utc(parsed) if parsed is not None else None
    return moment.date() if moment is not None else None


def _parse_date_string(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


class ArxivId(NamedTuple):
    """A bare arXiv identifier and the version it was cited with, if any."""

    id: str  # "2511.01234" or "hep-th/9901001"
    version: int | None


# New style since 2007 (YYMM.NNNN, five digits from 2015); old style archive[.SUB]/YYMMNNN.
_ID_BODY = r"(?P<id>\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}|[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3})"
_BARE_ID = re.compile(_ID_BODY + r"(?:v(?P<version>\d+))?")
_PREFIX = re.compile(r"^(?:arxiv:|oai:arxiv\.org:)", re.IGNORECASE)
_URL_PATH = re.compile(r"^/(?:abs|pdf|html|format)/(?P<rest>.+?)(?:\.pdf)?/?$")


def parse_arxiv_id(value: str | None) -> ArxivId | None:
    """The bare id and version from "2511.01234v2", "arXiv:…", "oai:arXiv.org:…",
    "hep-th/9901001v1" or an arxiv.org abs/pdf URL; None when it is not an arXiv id."""
    text = (value or "").strip()
    if not text:
        return None
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not (host == "arxiv.org" or host.endswith(".arxiv.org")):
            return None
        path_match = _URL_PATH.match(parts.path)
        if not path_match:
            return None
        text = path_match.group("rest")
    else:
        text = _PREFIX.sub("", text)
    match = _BARE_ID.fullmatch(text)
    if not match:
        return None
    version = match.group("version")
    return ArxivId(match.group("id"), int(version) if version else None)


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def arxiv_pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


_AND = re.compile(r"\s+and\s+|\s*&\s*", re.IGNORECASE)
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."})


def _split_outside_parens(text: str, separators: str) -> list[str]:
    # Affiliations such as "A (MIT, CSAIL)" hold commas that do not separate authors.
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char in separators and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def split_authors(value: str | None) -> list[str]:
    """One author string ("A, B, and C" / "A and B" / "A; B") as a list of names."""
    names: list[str] = []
    for piece in _split_outside_parens(value or "", ",;"):
        for name in _AND.split(piece):
            name = collapse_whitespace(name)
            if not name or name.lower() in ("and", "et al", "et al."):
                continue
            if name.lower() in _NAME_SUFFIXES and names:
                names[-1] = f"{names[-1]}, {name}"
                continue
            names.append(name)
    return names


def clean_names(names: list[str | None]) -> list[str]:
    """Author names as plain text, empty ones dropped, order kept."""
    cleaned = (html_to_text(name, is_html=False) for name in names if name)
    return [name for name in cleaned if name]
