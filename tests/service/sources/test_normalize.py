from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.sources.normalize import (
    ArxivId,
    arxiv_abs_url,
    arxiv_pdf_url,
    clean_names,
    collapse_whitespace,
    html_to_text,
    parse_arxiv_id,
    split_authors,
    to_utc,
)


def test_collapse_whitespace_joins_wrapped_lines() -> None:
    assert collapse_whitespace("  Turning the\n    TIDE:\tCross-Architecture  ") == "Turning the TIDE: Cross-Architecture"
    assert collapse_whitespace(None) == ""


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("one<br>two<p>three</p>", "one two three"),
        ("Tom &amp; Jerry &eacute; &#x3b1;", "Tom & Jerry é α"),
        ("safe<script>alert(1)</script> text", "safe text"),
        ("<style>p{}</style>styled", "styled"),
        ('<img src="x" onerror="alert(1)">pic', "pic"),
        ("<!-- hidden -->shown", "shown"),
        ("a<![CDATA[b]]>c", "abc"),
        # Escaped once more: still markup, still stripped.
        ("&lt;script&gt;alert(1)&lt;/script&gt;after", "after"),
        ("&lt;b onmouseover=x&gt;bold&lt;/b&gt;", "bold"),
        (r"We prove \textbf{adaptability} for $\alpha \le 1$", r"We prove \textbf{adaptability} for $\alpha \le 1$"),
        ("x < y and y > z", "x < y and y > z"),
    ],
)
def test_html_to_text_strips_markup(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_plain_text_keeps_latex_comparisons_but_not_tags() -> None:
    latex = "we show $a<b$ and $c>d$ in (<1 minute)"
    assert html_to_text(latex, is_html=False) == latex
    assert html_to_text("Title <script>alert(1)</script><img src=x onerror=alert(1)>", is_html=False) == "Title"
    # An unknown "tag" must not swallow (and so smuggle) a real one.
    assert html_to_text("$a<b$ &amp; <iframe src=//evil></iframe>ok", is_html=False) == "$a<b$ & ok"
    assert html_to_text("<x <script>alert(1)</script>y", is_html=False) == "<x y"


def test_html_to_text_of_nothing() -> None:
    assert html_to_text(None) == ""
    assert html_to_text("") == ""


def test_to_utc_parses_iso_rfc822_struct_time_and_naive() -> None:
    utc = UTC
    assert to_utc("2026-05-30T00:00:00.000Z") == datetime(2026, 5, 30, tzinfo=utc)
    converted = to_utc("Mon, 27 Apr 2026 00:00:00 -0400")
    assert converted == datetime(2026, 4, 27, 4, 0, tzinfo=utc)
    assert converted is not None and converted.utcoffset() == timedelta(0)
    assert to_utc(time.struct_time((2026, 4, 29, 17, 59, 1, 2, 119, 0))) == datetime(2026, 4, 29, 17, 59, 1, tzinfo=utc)
    assert to_utc(datetime(2026, 1, 2, 3, 4)) == datetime(2026, 1, 2, 3, 4, tzinfo=utc)
    berlin = timezone(timedelta(hours=2))
    assert to_utc(datetime(2026, 6, 1, 12, tzinfo=berlin)) == datetime(2026, 6, 1, 10, tzinfo=utc)


@pytest.mark.parametrize("junk", ["", "yesterday", "2026-13-45", None])
def test_to_utc_gives_none_for_junk(junk: str | None) -> None:
    assert to_utc(junk) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2511.01234", ArxivId("2511.01234", None)),
        ("2511.01234v2", ArxivId("2511.01234", 2)),
        ("0704.0001", ArxivId("0704.0001", None)),
        ("arXiv:2511.01234v12", ArxivId("2511.01234", 12)),
        ("oai:arXiv.org:2604.21935v1", ArxivId("2604.21935", 1)),
        ("hep-th/9901001v1", ArxivId("hep-th/9901001", 1)),
        ("math.GT/0309136", ArxivId("math.GT/0309136", None)),
        ("cs/0112017", ArxivId("cs/0112017", None)),
        ("https://arxiv.org/abs/2604.26951v1", ArxivId("2604.26951", 1)),
        ("http://arxiv.org/abs/hep-th/9901001v3", ArxivId("hep-th/9901001", 3)),
        ("https://arxiv.org/pdf/2511.01234v3.pdf", ArxivId("2511.01234", 3)),
        ("https://export.arxiv.org/abs/2511.01234", ArxivId("2511.01234", None)),
        ("  https://www.arxiv.org/pdf/2511.01234  ", ArxivId("2511.01234", None)),
    ],
)
def test_parse_arxiv_id_forms(value: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "hello",
        "2513.01234",  # month 13
        "2511.123",
        "https://example.com/abs/2511.01234",
        "https://arxiv.org.evil.com/abs/2511.01234",
        "javascript:alert('2511.01234')",
        "https://arxiv.org/list/cs.AI/recent",
        "2511.01234 extra",
    ],
)
def test_parse_arxiv_id_rejects_non_ids(value: str | None) -> None:
    assert parse_arxiv_id(value) is None


def test_canonical_urls() -> None:
    assert arxiv_abs_url("2511.01234") == "https://arxiv.org/abs/2511.01234"
    assert arxiv_pdf_url("hep-th/9901001") == "https://arxiv.org/pdf/hep-th/9901001"


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("Michael Cooper, Samuel Cooper", ["Michael Cooper", "Samuel Cooper"]),
        ("A. Smith, B. Jones, and C. Brown", ["A. Smith", "B. Jones", "C. Brown"]),
        ("A. Smith and B. Jones", ["A. Smith", "B. Jones"]),
        ("Alexander Sandberg, Andrea Anderson", ["Alexander Sandberg", "Andrea Anderson"]),
        ("X Y (MIT, CSAIL), Z W", ["X Y (MIT, CSAIL)", "Z W"]),
        ("Martin King, Jr., Ada Lovelace", ["Martin King, Jr.", "Ada Lovelace"]),
        ("Solo Author", ["Solo Author"]),
        ("A; B", ["A", "B"]),
        ("", []),
    ],
)
def test_split_authors(value: str, names: list[str]) -> None:
    assert split_authors(value) == names


def test_clean_names_drops_empty_and_markup() -> None:
    assert clean_names(["  Ada\nLovelace ", None, "", "<b>Alan</b> Turing"]) == ["Ada Lovelace", "Alan Turing"]


def test_control_characters_are_dropped_from_text() -> None:
    from service.sources.normalize import collapse_whitespace, html_to_text

    assert collapse_whitespace("Null\x00 byte\x07 title\x7f") == "Null byte title"
    assert html_to_text("A <b>bold</b>\x00 move") == "A bold move"
    assert html_to_text("plain\x00 text") == "plain text"
