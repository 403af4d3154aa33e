"""Abstract snippets and highlights: plain text plus character spans in, escaped Markup out.

Results are cached with their escaped HTML: the subscribers of a batch share a few hundred
papers and most of their keywords, so they share titles and snippets too.

Escape first, then highlight: every piece of the original text goes through ``escape`` on its
own and only the ``<mark>`` tags we add are trusted, so ``&``, ``<`` and ``>`` in a paper can
neither break the markup nor shift a highlight.

Spans come from matching (a keyword's ``TermHit``) or from :func:`term_spans`, which finds any
terms (a topic's evidence, a search) by the one rule of :mod:`service.matching.terms`: what is
highlighted is exactly what matched.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from service.matching.terms import Tokens, TermSet, parse_term, tokenize
from service.rendering.splice import escaped

Span = tuple[int, int]
WORD = re.compile(r"\S+")
SNIPPET_WORDS = 60
# Words of context kept before the first hit when the window has to move into the abstract.
LEAD_WORDS = 12
ELLIPSIS = "…"


@dataclass(frozen=True)
class Highlighted:
    """Text cut into runs, each flagged as highlighted or not; ``…`` marks cut ends."""

    runs: tuple[tuple[str, bool], ...]
    cut_start: bool = False
    cut_end: bool = False
    # ``text`` when already known: readers whose highlights differ mostly share the window, and
    # so its plain text (service.rendering.snippet._window_text).
    known_text: str | None = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def html(self) -> Markup:
        # Plain str work, one Markup at the end: Markup's % and join escape every piece again
        # (measured: 5x the cost, and most readers' highlights are their own). Whitespace is
        # collapsed once over the body, not per run: runs are never empty and a tag stands between
        # any two of them, so no run of whitespace spans two runs (equal to collapsing each run).
        parts = [f"<mark>{escaped(text)}</mark>" if hit else escaped(text) for text, hit in self.runs]
        return Markup(f"{ELLIPSIS + ' ' if self.cut_start else ''}{collapsed(''.join(parts))}"
                      f"{' ' + ELLIPSIS if self.cut_end else ''}")

    @functools.cached_property
    def text(self) -> str:
        if self.known_text is not None:
            return self.known_text
        body = " ".join("".join(text for text, _ in self.runs).split())
        return f"{ELLIPSIS + ' ' if self.cut_start else ''}{body}{' ' + ELLIPSIS if self.cut_end else ''}"


def collapsed(text: str) -> str:
    """``re.sub(r"\\s+", " ", text)``: each run of whitespace one space, at 1/7 of the regex's cost
    (str.split splits on the characters ``\\s`` matches)."""
    body = " ".join(text.split())
    if not body:
        return " " if text else ""
    return f"{' ' if text[0].isspace() else ''}{body}{' ' if text[-1].isspace() else ''}"


def merge_spans(spans: Iterable[Span], start: int, end: int) -> list[Span]:
    """Spans clipped to [start, end), empty ones dropped, overlapping or touching ones merged."""
    if not spans or end <= start:
        return []
    # A list, not a generator, and no min()/max() calls (was 4 per span): ~2x cheaper here.
    clipped = sorted([(s if s > start else start, e if e < end else end) for s, e in spans
                      if e > s and e > start and s < end])
    merged: list[Span] = []
    for s, e in clipped:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, spans: Iterable[Span], start: int = 0, end: int | None = None) -> Highlighted:
    """``text[start:end]`` cut into runs at the spans (which index the whole ``text``)."""
    end = len(text) if end is None else end
    return _highlight(text, tuple(merge_spans(spans, start, end)), start, end)


@functools.lru_cache(maxsize=8192)
def _highlight(text: str, spans: tuple[Span, ...], start: int, end: int) -> Highlighted:
    """SPANS as merge_spans(…, start, end) returns them (both callers merge first: the cache key)."""
    runs: list[tuple[str, bool]] = []
    pos = start
    for s, e in spans:
        if s > pos:
            runs.append((text[pos:s], False))
        runs.append((text[s:e], True))
        pos = e
    if pos < end:
        runs.append((text[pos:end], False))
    return Highlighted(tuple(runs), cut_start=start > 0, cut_end=end < len(text),
                       known_text=_window_text(text, start, end))


@functools.lru_cache(maxsize=8192)
def _window_text(text: str, start: int, end: int) -> str:
    """``Highlighted.text`` of any highlight of ``text[start:end]``: the same whatever the spans."""
    body = " ".join(text[start:end].split())
    return f"{ELLIPSIS + ' ' if start > 0 else ''}{body}{' ' + ELLIPSIS if end < len(text) else ''}"


@dataclass(frozen=True, slots=True)
class WordBounds:
    """Where each word of a text starts and ends: two tuples of ints, not a tuple per word (an
    abstract's 200 small tuples per paper kept the garbage collector busy)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]


@functools.lru_cache(maxsize=4096)
def word_bounds(text: str) -> WordBounds:
    # Cached: a batch renders the same few hundred abstracts for thousands of subscribers.
    starts: list[int] = []
    ends: list[int] = []
    for m in WORD.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return WordBounds(tuple(starts), tuple(ends))


def snippet(text: str, spans: Sequence[Span], words: int = SNIPPET_WORDS) -> Highlighted:
    """About ``words`` words of ``text``, from the start, or around the first hit when it lies
    beyond the first window (so the reader sees why the paper matched), highlighted."""
    return _snippet(text, tuple(spans), words)


@functools.lru_cache(maxsize=8192)
def _snippet(text: str, spans: tuple[Span, ...], words: int) -> Highlighted:
    bounds = word_bounds(text)
    count = len(bounds.ends)
    if count <= words:
        return _highlight(text, tuple(merge_spans(spans, 0, len(text))), 0, len(text)) if count else Highlighted(())
    first = min((s for s, e in spans if e > s), default=None)
    lo = 0
    if first is not None:
        # The first word ending after the hit's start (the last word when none does).
        hit_word = min(bisect.bisect_right(bounds.ends, first), count - 1)
        if hit_word >= words - LEAD_WORDS:
            lo = min(hit_word - LEAD_WORDS, count - words)
    hi = lo + words
    # Cut at word boundaries; the first/last window keeps the text's own ends (no ellipsis).
    start = 0 if lo == 0 else bounds.starts[lo]
    end = len(text) if hi >= count else bounds.ends[hi - 1]
    # The spans as the window shows them (clipped, merged): readers whose hits differ only outside
    # it, or overlap differently, share one highlight and its HTML.
    return _highlight(text, tuple(merge_spans(spans, start, end)), start, end)


def term_spans(text: str, terms: Iterable[str]) -> tuple[Span, ...]:
    """Character spans of every occurrence of any of ``terms`` in ``text``, in text order."""
    return _term_spans(text, tuple(dict.fromkeys(terms)))


@functools.lru_cache(maxsize=4096)
def _term_spans(text: str, terms: tuple[str, ...]) -> tuple[Span, ...]:
    # Cached: the readers of a batch share papers, and a topic's evidence is the same for all.
    term_set = _term_set(terms)
    if term_set is None or not text:
        return ()
    toks = _tokens(text)
    return tuple(sorted(toks.span(i, j) for runs in term_set.find(toks).values() for i, j in runs))


@functools.lru_cache(maxsize=2048)
def _tokens(text: str) -> Tokens:
    # A paper's text is asked about once per topic it is in (and per keyword set): tokenised once.
    return tokenize(text)


@functools.lru_cache(maxsize=2048)
def _term_set(terms: tuple[str, ...]) -> TermSet | None:
    parsed = [t for t in map(parse_term, terms) if t is not None]
    return TermSet(parsed) if parsed else None
