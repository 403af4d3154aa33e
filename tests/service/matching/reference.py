"""The obvious matcher: per subscriber, per paper, per term, a regular expression.

This is the executable statement of the matching rules in :mod:`service.matching.terms` and of
the rule part of the formula in :mod:`service.matching.score` (keywords, authors, topics,
boosts, exclusions, filters; not the learned profile). It is too slow for production (the
benchmark prints by how much) and exists so the property tests and ``bench/match.py`` can check
that the vectorised path in :mod:`service.matching.match` gives exactly the same answers. It
shares no code with that path except the case-folding primitive, the plural rule of a single
word (``singular``) and the score weights.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from service.matching import score
from service.matching.records import IndexedPaper, Match, MatchRequest, Reasons, TermHit
from service.matching.terms import JOINERS, fold, normalise_author, singular

_WORD = r"[^\W_]"
_JOINER = "[\\s" + re.escape(JOINERS) + "]"


@lru_cache(maxsize=4096)
def term_regex(raw: str) -> tuple[re.Pattern[str], bool]:
    """(pattern over folded text, is a phrase) for one keyword or exclusion as written.

    The term's words joined by the literal part of their gaps, last word made singular, is its
    key; the text may show the key, key+s, key+es (or …ies for a key ending in y), with any
    joiners between any two of its characters, starting and ending at word boundaries.
    """
    folded = fold(raw)
    found = list(re.finditer(f"{_WORD}+", folded))
    words = [m.group() for m in found]
    gaps = [folded[a.end() : b.start()] for a, b in zip(found, found[1:], strict=False)]
    words[-1] = singular(words[-1], raw[found[-1].start() : found[-1].end()])
    key = words[0]
    for gap, word in zip(gaps, words[1:], strict=True):
        key += "".join(c for c in gap if not (c.isspace() or c in JOINERS)) + word
    forms = {key, key + "s", key + "es"} | ({key[:-1] + "ies"} if key.endswith("y") else set())
    spelled = [f"{_JOINER}*".join(map(re.escape, form)) for form in sorted(forms, key=len, reverse=True)]
    return re.compile(f"(?<!{_WORD})(?:{'|'.join(spelled)})(?!{_WORD})"), len(words) > 1


def reference_match(request: MatchRequest, papers: Sequence[IndexedPaper], now: datetime) -> list[Match]:
    assert request.profile.empty, "the reference states the rules only: no learned profile"
    prefs = request.preferences
    followed = [normalise_author(a) for a in prefs.authors]
    wanted_sources = set(prefs.sources)
    scored: list[tuple[tuple[float, int, int], Match]] = []
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
        relevance = 0.0
        terms: list[TermHit] = []
        for keyword in prefs.keywords:
            regex, _ = term_regex(keyword)
            in_title = tuple(m.span() for m in regex.finditer(title))
            in_abstract = tuple(m.span() for m in regex.finditer(abstract))
            if in_title:
                terms.append(TermHit(keyword, "title", in_title))
            if in_abstract:
                terms.append(TermHit(keyword, "abstract", in_abstract))
            relevance += score.KEYWORD_TITLE * bool(in_title) + score.KEYWORD_ABSTRACT * bool(in_abstract)
        topics = tuple(sorted(set(prefs.topics) & paper.topics))
        relevance += score.TOPIC * min(len(topics), score.MAX_TOPICS)
        names: list[str] = []
        for name in followed:
            spelt = [a for a in paper.authors if normalise_author(a) == name]
            if spelt:
                names += spelt
                relevance += score.AUTHOR
        boost = score.upvote_boost(paper.upvotes) + score.recency_boost(paper.first_seen_at, now)
        if prefs.has_filters:
            if not relevance:
                continue
            reasons = Reasons(tuple(terms), topics, tuple(names), False)
        else:
            reasons = Reasons(trending=True)
        match = Match(paper.id, relevance + boost, reasons)
        scored.append((score.sort_key(relevance + boost, paper.upvotes, paper.id), match))
    scored.sort(key=lambda pair: pair[0])
    return [match for _, match in scored[: request.wanted]]


def reference_match_many(
    requests: Sequence[MatchRequest], papers: Sequence[IndexedPaper], now: datetime
) -> list[list[Match]]:
    return [reference_match(r, papers, now) for r in requests]
