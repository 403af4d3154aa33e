"""``match_many``: every subscriber's ranked papers, with reasons, from one ``PaperIndex``.

Per subscriber, all in C-level big-int arithmetic over the index's packed 8-bit fields:

1. relevance of every paper = Σ topic entries + Σ keyword entries + Σ author entries, each a
   ``sum(map(dict.__getitem__, terms))`` over the index's per-term packed ints;
2. candidates = fields whose relevance is non-zero (a SWAR "non-zero byte" test), minus the
   window/threshold/source filter, minus every exclusion;
3. score = relevance + the paper's boost, then ``to_bytes``: one byte per paper;
4. top-k: walk the score values downwards with ``bytes.find``, skipping papers already sent;
   within one value positions come in tie-break order (upvotes desc, id asc) because the
   index is laid out that way. The walk starts at the highest power-of-two bracket that some
   score reaches (two or three big-int ANDs), not at the sum of every term's maximum;
5. reasons are worked out per match on first access to ``Match.reasons`` (an ``_Explainer``
   shared by one subscriber's matches), from the ``TermHit`` tuples the index keeps per
   keyword and paper, so every subscriber using a keyword shares the same ``TermHit`` objects.

A subscriber whose highest possible score could overflow a byte (dozens of keywords that all hit)
takes the plain per-paper path instead; both give the same answer (tests pin this).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from service.matching.index import BITS, FIELD_MAX, AuthorEntry, KeywordEntry, PaperIndex, TopicEntry
from service.matching.records import Match, MatchRequest, Reasons, TermHit

if TYPE_CHECKING:
    from service.subscribers.preferences import Preferences

TRENDING = Reasons(trending=True)
NO_REASONS = Reasons()
HALVES = tuple(v / 2 for v in range(FIELD_MAX + 1))  # the score a byte value stands for
# trending scores carry +1 (see match_one): the byte value v stands for (v - 1) / 2
TRENDING_HALVES = tuple((v - 1) / 2 for v in range(FIELD_MAX + 1))
_new = object.__new__


def match_many(requests: Sequence[MatchRequest], index: PaperIndex, *, with_reasons: bool = True) -> list[list[Match]]:
    """One ranked list of matches per request, in request order.

    ``with_reasons=False`` leaves every ``Match.reasons`` empty (trending still flagged): for
    callers that only need the papers and scores, such as deciding which digests are empty.
    Otherwise reasons are computed on first access to each ``Match.reasons`` (see ``Match``).

    The cyclic garbage collector is paused meanwhile: matching allocates millions of small
    objects and no reference cycles, and each collection pass would walk all results so far
    (measured: it tripled the cost per subscriber at 100,000 subscribers).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return [match_one(request, index, with_reasons) for request in requests]
    finally:
        if paused:
            gc.enable()


def match_one(request: MatchRequest, index: PaperIndex, with_reasons: bool = True) -> list[Match]:
    prefs = request.preferences
    if not index.size:
        return []
    valid = index.window(request.since, prefs.min_upvotes, prefs.sources)
    topics, keywords, authors = prefs.topics, prefs.keywords, prefs.authors
    try:
        if prefs.exclude:
            excluded = index.keyword_fields
            for raw in prefs.exclude:
                valid &= ~excluded[raw]
        if not valid:
            return []
        if not (topics or keywords or authors):
            # +1 keeps a paper with no boost at all distinguishable from "not a candidate"
            scores = (index.boost_packed + index.ones) & valid
            return _pick(
                index,
                scores,
                index.max_boost_half + 1,
                prefs.max_papers,
                request.already_sent,
                TRENDING_HALVES,
                TRENDING,
                None,
            )
        relevance = sum(
            map(index.keyword_packed.__getitem__, keywords), sum(map(index.topic_packed.__getitem__, topics))
        )
        bound = sum(map(index.keyword_max.__getitem__, keywords), sum(map(index.topic_max.__getitem__, topics)))
        if authors:
            relevance += sum(map(index.author_packed.__getitem__, authors))
            bound += sum(map(index.author_max.__getitem__, authors))
    except KeyError:  # a term this index has not looked up yet: once per term and index
        index.resolve(prefs)
        return match_one(request, index, with_reasons)
    if not bound:
        return []
    bound += index.max_boost_half
    fixed = None if with_reasons else NO_REASONS
    if bound > FIELD_MAX:
        return _slow(index, prefs, valid, request.already_sent, fixed)
    # 0xFF in every field whose relevance is non-zero (bit 7 set by the add or already there)
    low7 = index.low7
    nonzero = (((relevance & low7) + low7) | relevance) & index.high1
    nonzero |= nonzero - (nonzero >> (BITS - 1))
    scores = (relevance + index.boost_packed) & nonzero & valid
    if not scores:
        return []
    return _pick(index, scores, bound, prefs.max_papers, request.already_sent, HALVES, fixed, prefs)


def _pick(
    index: PaperIndex,
    scores: int,
    bound: int,
    k: int,
    sent: AbstractSet[int],
    halves: tuple[float, ...],
    fixed: Reasons | None,
    prefs: Preferences | None,
) -> list[Match]:
    """The k best non-zero fields of ``scores`` (all ≤ ``bound``) not already sent, as matches.

    Order: value desc, position asc. Each match gets the ``fixed`` reasons, or else a shared
    explainer that works them out on access.
    """
    at_least = index.at_least
    b = bound.bit_length() - 1
    while b and not scores & at_least[b]:
        b -= 1
    value = min(bound, (2 << b) - 1)  # no score reaches 2**(b+1)
    data = scores.to_bytes(index.size, "little")
    ids = index.ids
    explainer = None if fixed is not None else _Explainer(index, prefs)
    chosen: list[Match] = []
    picked = explainer.positions if explainer is not None else chosen  # (never appended to)
    while value > 0:
        if value in data:
            pos = data.find(value)
            while pos >= 0:
                paper_id = ids[pos]
                if not (sent and paper_id in sent):
                    match = _new(Match)
                    match._paper_id = paper_id
                    match._score = halves[value]
                    match._reasons = fixed
                    if explainer is not None:
                        match._explainer = explainer
                        match._pos = pos
                        picked.append(pos)
                    chosen.append(match)
                    if len(chosen) == k:
                        return chosen
                pos = data.find(value, pos + 1)
        value -= 1
    return chosen


def _slow(
    index: PaperIndex, prefs: Preferences, valid: int, sent: AbstractSet[int], fixed: Reasons | None
) -> list[Match]:
    """The same selection as the packed path, one paper at a time (for very large scores)."""
    relevance: dict[int, int] = {}
    for e in map(index.keyword, prefs.keywords):
        for pos, half in e.half.items():
            relevance[pos] = relevance.get(pos, 0) + half
    entries: list[AuthorEntry | TopicEntry] = [index.author(a) for a in prefs.authors]
    entries += [index.topic(t) for t in prefs.topics]
    for entry in entries:
        for pos in _bits(entry.mask):
            relevance[pos] = relevance.get(pos, 0) + entry.max_half
    boost = index.boost_half
    ranked = sorted(
        (-(rel + boost[pos]), pos)
        for pos, rel in relevance.items()
        if (valid >> (BITS * pos)) & 1 and index.ids[pos] not in sent
    )
    explainer = _Explainer(index, prefs)
    chosen = []
    for neg, pos in ranked[: prefs.max_papers]:
        match = Match(index.ids[pos], -neg / 2, fixed)  # type: ignore[arg-type]  # None: lazy
        if fixed is None:
            match._explainer = explainer
            match._pos = pos
            explainer.positions.append(pos)
        chosen.append(match)
    return chosen


def _bits(mask: int) -> list[int]:
    """Positions of the set bits of ``mask``, lowest first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


class _Explainer:
    """The reasons of one subscriber's matches, worked out paper by paper when asked."""

    __slots__ = ("authors", "hit", "index", "keywords", "positions", "prefs", "topics")

    def __init__(self, index: PaperIndex, prefs: Preferences | None) -> None:
        self.index = index
        self.prefs = prefs
        # positions of this subscriber's matches: only terms that hit one of them are looked at
        # (positions, not the matches themselves, so that no reference cycle is made)
        self.positions: list[int] = []
        self.keywords: list[KeywordEntry] | None = None

    def _resolve(self) -> list[KeywordEntry]:
        index, prefs = self.index, self.prefs
        assert prefs is not None
        cut = 0
        for pos in self.positions:
            cut |= 1 << pos
        keywords = self.keywords = [e for e in map(index.keyword, prefs.keywords) if e.mask & cut]
        self.authors: list[AuthorEntry] = [a for a in map(index.author, prefs.authors) if a.mask & cut]
        self.topics = frozenset(prefs.topics)
        hit = 0
        for e in keywords:
            hit |= e.mask
        self.hit = hit & cut
        return keywords

    def explain(self, pos: int) -> Reasons:
        keywords = self.keywords
        if keywords is None:
            keywords = self._resolve()
        terms: tuple[TermHit, ...] = ()
        if self.hit >> pos & 1:  # most topic-only papers skip the keyword loop
            for e in keywords:
                hits = e.hits.get(pos)
                if hits:
                    terms += hits
        names: tuple[str, ...] = ()
        for a in self.authors:
            spelt = a.names.get(pos)
            if spelt:
                names += spelt
        index = self.index
        common = index.paper_topics[pos] & self.topics
        slugs, topics_only = index.topic_reasons_cache.get(common) or index.topic_reasons(pos, self.topics)
        if not (terms or names):
            return topics_only  # shared by every subscriber and paper with those topics
        # Reasons(terms, slugs, names, False) without the frozen dataclass's four
        # object.__setattr__ calls: this line runs once per match that a digest shows
        reasons = _new(Reasons)
        _set_terms(reasons, terms)
        _set_topics(reasons, slugs)
        _set_authors(reasons, names)
        _set_trending(reasons, False)
        return reasons


_set_terms = Reasons.terms.__set__  # type: ignore[attr-defined]
_set_topics = Reasons.topics.__set__  # type: ignore[attr-defined]
_set_authors = Reasons.authors.__set__  # type: ignore[attr-defined]
_set_trending = Reasons.trending.__set__  # type: ignore[attr-defined]
