"""What "whole word, case-insensitive" means for keywords, exclusions and author names.

Matching works on the *folded* text: every character is case-folded on its own
(``str.casefold``, falling back to ``str.lower``, falling back to the character itself when
either would turn one character into several, so "ß" stays "ß" and "ẞ" becomes "ß"). Folding
never changes the length of a string, so a position in the folded text is the same position
in the original title or abstract: that is what makes highlighting possible.

- **Word character**: a character for which ``str.isalnum()`` is true (letters and digits of
  any script). Everything else separates words: spaces, punctuation, hyphens, the
  underscore, ``$``, ``\\``, combining marks.
- **Token**: a maximal run of word characters in the folded text. "Mixture-of-Experts"
  is the tokens ``mixture``, ``of``, ``experts``; ``$\\alpha$-divergence`` is ``alpha``,
  ``divergence``; "GPT-3.5" is ``gpt``, ``3``, ``5``; "LLM's" is ``llm``, ``s``.
- **Gap**: the characters between two neighbouring tokens. Its *canonical form* drops every
  *joiner* (whitespace, hyphens and dashes ``-‐‑‒–—―−``, and LaTeX markup ``$ \\ { } ^ _ ~``),
  so " ", "-", "$-" and " \\n " are all the empty canonical gap, while "." stays ".".
- **Term**: a keyword or exclusion, tokenised the same way. Non-word characters before its
  first token and after its last are ignored ("C++" is the term ``c``).
- **A term occurs** at token *i* of a field when the field's tokens *i..i+n-1* equal the
  term's *n* tokens, except that the last one may also carry a plural ending ``s`` or
  ``es`` ("transformer" occurs in "Transformers", "bus" in "buses", "language model" in
  "language models"; "transformers" does not occur in "transformer"), and each gap between
  them has the same canonical form as the term's gap. So "mixture of experts",
  "Mixture-of-Experts" and "mixture\\nof  experts" are one phrase; "alpha-divergence" occurs in
  "$\\alpha$-divergence"; "GPT-3.5" occurs in "GPT 3.5" but not in "GPT-3,5".
- **Occurrences** are reported like ``re.finditer``: left to right, never overlapping
  (after an occurrence ends at token *j*, the next may start at token *j+1*).
- Nothing fuzzier: no stemming beyond s/es, no accent folding for keywords, no
  compatibility normalisation (full-width letters and ligatures are other characters).

Author names match as whole names after :func:`normalise_author`: Unicode NFKD, combining marks
dropped (accents stripped), case-folded, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FIELDS = ("title", "abstract")
TOKEN_RE = re.compile(r"[^\W_]+")
JOINERS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212$\\{}^_~"
PLURAL_ENDINGS = ("", "s", "es")


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first use, one code point at a time."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = char.casefold()
        if len(folded) != 1:
            folded = char.lower()
            if len(folded) != 1:
                folded = char
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Case-fold ``text`` character by character; the result has the same length."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def canonical_gap(gap: str) -> str:
    """The part of a gap between two tokens that must match literally ("" = any joiners)."""
    if gap.isspace() or gap == "-":  # the common cases, without building a new string
        return ""
    return "".join(c for c in gap if not (c.isspace() or c in JOINERS))


@dataclass(frozen=True, slots=True)
class Tokens:
    """One field's tokens: folded words, their spans in the original string, gaps after them."""

    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    gaps: tuple[str, ...]  # canonical gap after token i; the last is "" and never compared


def tokenize(text: str) -> Tokens:
    folded = fold(text)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in TOKEN_RE.finditer(folded):
        words.append(m.group())
        spans.append(m.span())
    gaps = [canonical_gap(folded[spans[i][1] : spans[i + 1][0]]) for i in range(len(spans) - 1)]
    gaps.append("")
    return Tokens(tuple(words), tuple(spans), tuple(gaps))


@dataclass(frozen=True, slots=True)
class Term:
    """A keyword or exclusion ready to match: its tokens and the canonical gaps between them."""

    words: tuple[str, ...]
    gaps: tuple[str, ...]  # len(words) - 1 entries

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


def parse_term(raw: str) -> Term | None:
    """The term a keyword stands for, or None when it has no word characters at all."""
    toks = tokenize(raw)
    if not toks.words:
        return None
    return Term(toks.words, toks.gaps[:-1])


def occurs_at(term: Term, toks: Tokens, i: int) -> bool:
    """Whether ``term`` occurs in ``toks`` starting at token ``i``."""
    n = len(term.words)
    words, gaps = toks.words, toks.gaps
    if i + n > len(words):
        return False
    last = words[i + n - 1]
    stem = term.words[-1]
    if last != stem and last != stem + "s" and last != stem + "es":
        return False
    for j in range(n - 1):  # noqa: SIM110 - a plain loop beats all() over a generator here (hot path)
        if words[i + j] != term.words[j] or gaps[i + j] != term.gaps[j]:
            return False
    return True


def term_occurrences(term: Term, toks: Tokens) -> list[tuple[int, int]]:
    """Character spans (original string) of the non-overlapping occurrences of ``term``."""
    n = len(term.words)
    found: list[tuple[int, int]] = []
    next_free = 0
    for i in range(len(toks.words) - n + 1):
        if i >= next_free and occurs_at(term, toks, i):
            found.append((toks.spans[i][0], toks.spans[i + n - 1][1]))
            next_free = i + n
    return found


def normalise_author(name: str) -> str:
    """Accent-free, case-folded, whitespace-collapsed author name ("" if nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
