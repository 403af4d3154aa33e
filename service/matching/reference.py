"""The obvious matcher: per subscriber, per paper, per term, a regular expression.

This is the executable statement of the matching rules in :mod:`service.matching.text` and
the formula in :mod:`service.matching.rank`. It is too slow for production (the benchmark
prints by how much) and exists so the property tests and ``bench/match.py`` can check that
the fast path in :mod:`service.matching.match` gives exactly the same answers. It shares no
code with the fast path except the case-folding primitive and the score weights.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from service.matching import rank
from service.matching.records import IndexedPaper, Match, MatchRequest, Reasons, TermHit
from service.matching.text import JOINERS, fold, normalise_author

_WORD = r"[^\W_]"
_JOINER = "[\\s" + re.escape(JOINERS) + "]"


@lru_cache(maxsize=4096)
def term_regex(raw: str) -> tuple[re.Pattern[str], bool]:
    """(pattern over folded text, is a phrase) for one keyword or exclusion as written."""
    parts = re.split(f"({_WORD}+)", fold(raw))
    words, gaps = parts[1::2], parts[2:-1:2]
    pattern = f"(?<!{_WORD})" + re.escape(words[0])
    for gap, word in zip(gaps, words[1:], strict=True):
        literal = [c for c in gap if not (c.isspace() or c in JOINERS)]
        if literal:
            pattern += f"{_JOINER}*" + f"{_JOINER}*".join(map(re.escape, literal)) + f"{_JOINER}*"
        else:
            pattern += f"{_JOINER}+"
        pattern += re.escape(word)
    pattern += f"(?:s|es)?(?!{_WORD})"
    return re.compile(pattern), len(words) > 1


def reference_match(request: MatchRequest, papers: Sequence[IndexedPaper], now: datetime) -> list[Match]:
    prefs = request.preferences
    followed = [normalise_author(a) for a in prefs.authors]
    wanted_sources = set(prefs.sources)
    scored: list[tuple[tuple[int, int, int], Match]] = []
    for paper in papers:
        if paper.first_seen_at < request.since or paper.id in request.already_sent:
            continue
        if paper.upvotes < prefs.min_upvotes:
            continue
        if wanted_sources and not (wanted_sources & paper.sources):
            continue
        title, abstract = fold(paper.title), fold(paper.abstract)
        if any(term_regex(x)[0].search(title) or term_regex(x)[0].search(abstract) for x in prefs.exclude):
            continue
        relevance = 0
        terms: list[TermHit] = []
        for keyword in prefs.keywords:
            regex, phrase = term_regex(keyword)
            in_title = tuple(m.span() for m in regex.finditer(title))
            in_abstract = tuple(m.span() for m in regex.finditer(abstract))
            if in_title:
                terms.append(TermHit(keyword, "title", in_title))
            if in_abstract:
                terms.append(TermHit(keyword, "abstract", in_abstract))
            relevance += rank.keyword_half(phrase, bool(in_title), bool(in_abstract))
        topics = tuple(sorted(set(prefs.topics) & paper.topics))
        relevance += rank.TOPIC_HALF * len(topics)
        names: list[str] = []
        for name in followed:
            spelt = [a for a in paper.authors if normalise_author(a) == name]
            if spelt:
                names += spelt
                relevance += rank.AUTHOR_HALF
        score = relevance + rank.boost_half(paper.upvotes, paper.first_seen_at, now)
        if prefs.has_filters:
            if not relevance:
                continue
            reasons = Reasons(tuple(terms), topics, tuple(names), False)
        else:
            reasons = Reasons(trending=True)
        match = Match(paper.id, score / 2, reasons)
        scored.append((rank.sort_key(score, paper.upvotes, paper.id), match))
    scored.sort(key=lambda pair: pair[0])
    return [match for _, match in scored[: prefs.max_papers]]


def reference_match_many(
    requests: Sequence[MatchRequest], papers: Sequence[IndexedPaper], now: datetime
) -> list[list[Match]]:
    return [reference_match(r, papers, now) for r in requests]
