"""What "a term matches" means, once: for topic rules, keywords, exclusions and highlighting.

Matching works on the *folded* text: every character is case-folded on its own
(``str.casefold``, falling back to ``str.lower``, falling back to the character itself when
either would turn one character into several, so "ß" stays "ß" and "ẞ" becomes "ß"). Folding
never changes the length of a string, so a position in the folded text is the same position
in the original title or abstract: that is what makes highlighting possible.

- **Token**: a maximal run of word characters (``str.isalnum``: letters and digits of any
  script). Everything else separates tokens, the underscore included. "Mixture-of-Experts" is
  ``mixture``, ``of``, ``experts``; "GPT-3.5" is ``gpt``, ``3``, ``5``; "LLM's" is ``llm``, ``s``.
- **Gap**: the characters between two neighbouring tokens. *Joiners* are dropped from it:
  whitespace, hyphens and dashes ``-‐‑‒–—―−`` and LaTeX markup ``$ \\ { } ^ _ ~``. What is left
  (".", ",", "'", "/", ...) is the gap's canonical form, and must match literally.
- **Key** of a run of tokens: the tokens joined by their canonical gaps. So "pre-training",
  "pre training" and "pretraining" all have the key ``pretraining``; "KV-cache" and "KV cache"
  ``kvcache``; "GPT-3.5", "GPT 3.5" and "GPT3.5" ``gpt3.5``, but "GPT-3,5" is ``gpt3,5``.
- **Term** (a keyword, an exclusion, a topic's term): tokenised the same way. Anything before its
  first token and after its last is ignored, so quotes around a phrase change nothing
  (``"KV cache"`` is ``KV cache``) and "C++" is the term ``c``. Its key is formed the same way,
  after taking the plural ending off its last word (:func:`singular`: "LLMs" → ``llm``,
  "agents" → ``agent``, "policies" → ``policy``, "boxes" → ``box``, "KV caches" → ``kvcache``).
- **A term occurs** at tokens *i..j* of a text when the key of that run is one of the term's
  *forms*: its key, the key + "s", + "es", or (key ending in "y") "…ies". Runs start and end at
  token boundaries, so terms match whole words: "agent" occurs in "Multi-Agent" and "agents",
  never in "reagent"; "LLM" occurs in "LLMs" and "LLM-based".
- **Occurrences** are reported like ``re.finditer``: left to right, the longest run at each
  start, never overlapping (after an occurrence ends at token *j*, the next may start at *j+1*).
- Nothing fuzzier: no stemming beyond plural endings, no accent folding, no compatibility
  normalisation (full-width letters and ligatures are other characters).

Two terms with the same key match the same texts: that is how duplicates are spotted.
Author names match as whole names after :func:`normalise_author` (accents stripped, case-folded,
whitespace collapsed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

TOKEN_RE = re.compile(r"[^\W_]+")
JOINERS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212$\\{}^_~"
_KEEP_ES = ("sses", "ches", "shes", "xes")  # "losses", "matches", "meshes", "boxes": drop "es"
# English has no rule for "-ches": these nouns end in "-che" and only drop the "s"
_CHE_NOUNS = frozenset({"cache", "niche", "headache", "avalanche", "psyche", "cliche", "moustache", "quiche"})
_NOT_PLURAL = ("ss", "us", "is", "ics")  # "loss", "corpus", "analysis", "dynamics" stay


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
    """The part of a gap between two tokens that must match literally ("" = only joiners)."""
    if gap.isspace() or gap == "-":  # the common cases, without building a new string
        return ""
    return "".join(c for c in gap if not (c.isspace() or c in JOINERS))


def singular(word: str, raw: str = "") -> str:
    """``word`` (folded) without a plural ending; ``raw`` is how it was written.

    An acronym plural ("LLMs", "GPUs": capitals then "s") loses its "s". Other words of five
    letters or more lose "ies" → "y", "es" after ss/ch/sh/x (but "caches" → "cache"), or a
    final "s" — except words that only look plural ("loss", "corpus", "analysis", "dynamics").
    Short words keep their "s" ("news", "bias", "uses"): too many of them are not plurals.
    """
    if len(raw) >= 3 and raw[-1] == "s" and raw[:-1].isupper():
        return word[:-1]
    if len(word) < 5 or word[-1] != "s":
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(_KEEP_ES) and word[:-1] not in _CHE_NOUNS:
        return word[:-2]
    if word.endswith(_NOT_PLURAL):
        return word
    return word[:-1]


def plural_forms(key: str) -> tuple[str, ...]:
    """Every key a text may show for a term whose key is ``key``, longest first."""
    forms = [key + "es", key + "s", key]
    if key.endswith("y"):
        forms.insert(0, key[:-1] + "ies")
    return tuple(sorted(dict.fromkeys(forms), key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Tokens:
    """One text's tokens: folded words, their spans in the original string, gaps after them."""

    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    gaps: tuple[str, ...]  # canonical gap after token i; the last is "" and never used

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens ``first..last`` in the original string."""
        return self.spans[first][0], self.spans[last][1]


def tokenize(text: str) -> Tokens:
    folded = fold(text)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in TOKEN_RE.finditer(folded):
        words.append(m.group())
        spans.append(m.span())
    gaps = [canonical_gap(folded[spans[i][1] : spans[i + 1][0]]) for i in range(len(spans) - 1)]
    if spans:
        gaps.append("")
    return Tokens(tuple(words), tuple(spans), tuple(gaps))


@dataclass(frozen=True, slots=True)
class Term:
    """A term ready to match: its key (equal keys match the same texts) and its forms."""

    key: str
    words: int = field(compare=False)  # tokens as written: more than one is a phrase
    forms: tuple[str, ...] = field(compare=False)

    @property
    def is_phrase(self) -> bool:
        return self.words > 1


def parse_term(raw: str) -> Term | None:
    """The term ``raw`` stands for, or None when it has no word characters at all."""
    toks = tokenize(raw)
    if not toks.words:
        return None
    start, end = toks.spans[-1]
    words = [*toks.words[:-1], singular(toks.words[-1], raw[start:end])]
    key = "".join(w + g for w, g in zip(words, toks.gaps, strict=True))
    return Term(key, len(words), plural_forms(key))


class TermSet:
    """Many terms compiled for one pass over a text (the topic rules, an index's keywords).

    Per token it costs a dictionary and a set look-up: a run is only extended while its key is
    the beginning of some term's form.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms: tuple[Term, ...] = tuple(dict.fromkeys(terms))
        self._by_form: dict[str, list[int]] = {}
        prefixes: set[str] = set()
        for n, term in enumerate(self.terms):
            for form in term.forms:
                self._by_form.setdefault(form, []).append(n)
                prefixes.update(form[:k] for k in range(1, len(form)))
        self._prefixes = frozenset(prefixes)

    def find(self, toks: Tokens) -> dict[int, list[tuple[int, int]]]:
        """Term number → its occurrences in ``toks`` as (first token, last token), in order."""
        words, gaps = toks.words, toks.gaps
        by_form, prefixes = self._by_form, self._prefixes
        found: dict[int, list[tuple[int, int]]] = {}
        next_free: dict[int, int] = {}
        n = len(words)
        for i in range(n):
            key = words[i]
            j = i
            longest: dict[int, int] | None = None
            while True:
                hits = by_form.get(key)
                if hits:
                    if longest is None:
                        longest = {}
                    for t in hits:
                        longest[t] = j
                if j + 1 == n or key not in prefixes:
                    break
                key += gaps[j] + words[j + 1]
                j += 1
            if longest:
                for t, last in longest.items():
                    if i >= next_free.get(t, 0):
                        found.setdefault(t, []).append((i, last))
                        next_free[t] = last + 1
        return found


def occurrences(term: Term, toks: Tokens) -> list[tuple[int, int]]:
    """Character spans (original string) of the occurrences of ``term`` in ``toks``."""
    runs = TermSet([term]).find(toks).get(0, [])
    return [toks.span(i, j) for i, j in runs]


@lru_cache(maxsize=65536)
def normalise_author(name: str) -> str:
    """Accent-free, case-folded, whitespace-collapsed author name ("" if nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
