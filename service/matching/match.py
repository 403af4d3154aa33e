"""``match_many``: every reader's ranked papers, scored as ``score.py`` says, for a whole batch.

Readers are grouped by window (how many of the newest columns they see) and scored a chunk at a
time as matrices of readers × papers:

1. said = readers × features (keyword and author weights, all 1) @ features × papers (points);
   inferred = the same product over topics, capped at ``score.MAX_TOPICS``;
2. profile = readers × kernel rows (Rocchio weights) @ kernel (cosines), standardised per reader;
3. candidates: the rules of ``score.py`` as boolean masks (window, upvotes, sources, exclusions,
   already sent or voted on);
4. top k per reader by score, then tie-break rank, with ``argpartition``; one ``Match`` per pick.

Reasons and parts are worked out per match on first access (an ``_Explainer`` shared by one
reader's matches), so planning pays for ids and scores only.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from itertools import groupby

import numpy as np
import scipy.sparse as sp

from service.matching import score
from service.matching.index import PaperIndex, term_of
from service.matching.records import Liked, Match, MatchRequest, Reasons, SeedKind, TermHit
from service.matching.terms import normalise_author

CHUNK = 256  # readers per product: their readers × papers arrays stay in the CPU's cache
# Far beyond any score a reader can reach (50 keywords in title and abstract: 400), and small
# enough that float64 still tells tie-break ranks apart at this magnitude.
OUT_OF_RANK = 4096.0
TRENDING = Reasons(trending=True)
NO_REASONS = Reasons()
_new = object.__new__


def match_many(requests: Sequence[MatchRequest], index: PaperIndex, *, with_reasons: bool = True) -> list[list[Match]]:
    """One ranked list of matches per request, in request order.

    ``with_reasons=False`` leaves every ``Match.reasons`` empty (trending still flagged): for
    callers that only need the papers and scores, such as deciding which digests are empty.
    The profile papers of the requests must be in the index (``PaperIndex.add_profile_papers``)
    unless they are window papers; others count as unknown and weigh nothing.

    The cyclic garbage collector is paused meanwhile: matching allocates many small objects and
    no reference cycles, and each collection pass would walk all results so far.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        results: list[list[Match]] = [[] for _ in requests]
        if not index.size or not requests:
            return results
        _prepare(requests, index)
        widths: dict[object, int] = {}
        width = [widths.get(r.since) or widths.setdefault(r.since, index.window(r.since)) for r in requests]
        order = sorted(range(len(requests)), key=width.__getitem__)
        for m, group in groupby(order, key=width.__getitem__):
            if m == 0:
                continue
            members = list(group)
            for start in range(0, len(members), CHUNK):
                chunk = members[start : start + CHUNK]
                for i, matches in zip(chunk, _rank(index, [requests[i] for i in chunk], m, with_reasons), strict=True):
                    results[i] = matches
        return results
    finally:
        if paused:
            gc.enable()


def match_one(request: MatchRequest, index: PaperIndex, with_reasons: bool = True) -> list[Match]:
    return match_many([request], index, with_reasons=with_reasons)[0]


def _prepare(requests: Sequence[MatchRequest], index: PaperIndex) -> None:
    """Look up, once for the batch, every keyword, author, topic and profile paper new to the index."""
    known_raw = index.excluded.by_raw
    raws: dict[str, None] = {}
    authors: dict[str, None] = {}
    slugs: dict[str, None] = {}
    profile_ids: set[int] = set()
    for request in requests:
        prefs = request.preferences
        for raw in prefs.keywords:
            if raw not in known_raw:
                raws[raw] = None
        for raw in prefs.exclude:
            if raw not in known_raw:
                raws[raw] = None
        authors.update(dict.fromkeys(prefs.authors))
        slugs.update(dict.fromkeys(prefs.topics))
        if not request.profile.empty:
            profile_ids.update(request.profile.known)
    index.add_keywords(t for t in map(term_of, raws) if t is not None)
    index.add_keyword_spellings(raws)
    index.add_authors(authors)
    index.add_topics(slugs)
    if profile_ids:
        index.add_profile_papers(index.missing_profile_papers(profile_ids))


def _rank(index: PaperIndex, requests: Sequence[MatchRequest], m: int, with_reasons: bool) -> list[list[Match]]:
    """Matches of readers who all see the ``m`` newest papers."""
    n_readers = len(requests)
    said_rows: list[int] = []
    said_ptr = [0]
    topic_rows: list[int] = []
    topic_ptr = [0]
    excl_rows: list[int] = []
    excl_ptr = [0]
    judged_ids: list[int] = []  # per reader, their liked and seed papers, then their disliked ones
    judged_n: list[int] = []  # per reader, two counts: liked and seed papers, disliked papers
    known: list[int] = []  # papers voted on or seeded
    known_n: list[int] = []
    sent: list[int] = []
    sent_n: list[int] = []
    trending: list[int] = []
    upvote_rows: dict[int, list[int]] = {}
    source_rows: dict[tuple[str, ...], list[int]] = {}
    wanted: list[int | None] = []
    said_raw = index.said.by_raw.__getitem__
    topic_raw = index.topics.by_raw.__getitem__
    excl_raw = index.excluded.by_raw.__getitem__
    for r, request in enumerate(requests):
        prefs = request.preferences
        said_rows += map(said_raw, prefs.keywords)
        said_rows += map(said_raw, prefs.authors)
        said_ptr.append(len(said_rows))
        topic_rows += map(topic_raw, prefs.topics)
        topic_ptr.append(len(topic_rows))
        excl_rows += map(excl_raw, prefs.exclude)
        excl_ptr.append(len(excl_rows))
        if not prefs.has_filters:
            trending.append(r)
        judged = request.profile
        judged_ids += judged.positive
        judged_ids += judged.disliked
        judged_n += (len(judged.positive), len(judged.disliked))
        known += judged.known
        known_n.append(len(judged.known))
        sent += request.already_sent
        sent_n.append(len(request.already_sent))
        if prefs.min_upvotes:
            upvote_rows.setdefault(prefs.min_upvotes, []).append(r)
        if prefs.sources:
            source_rows.setdefault(prefs.sources, []).append(r)
        wanted.append(request.wanted)

    # relevance: said + inferred (+ the profile)
    relevance = index.said.weigh(said_rows, said_ptr, m)
    if topic_rows:
        inferred = index.topics.weigh(topic_rows, topic_ptr, m)
        np.minimum(inferred, score.MAX_TOPICS * score.TOPIC, out=inferred)
        relevance += inferred
    candidate = relevance > 0
    own = _cells(index, known, known_n, m)  # the reader's own voted and seed papers
    learned: np.ndarray | None = None
    if judged_ids:
        weights, positive = _rocchio(index, judged_ids, judged_n)
        learned = score.profile_points(np.asarray(weights @ index.kernel_prefix(m)), *own)
        if positive.any():
            np.logical_or(candidate, (learned >= score.PROFILE_CANDIDATE) & positive[:, None], out=candidate)
        relevance += learned
        np.logical_and(candidate, relevance > 0, out=candidate)
    if trending:
        candidate[trending] = True
    # filters, exclusions, already sent or voted on
    for at_least, rows in upvote_rows.items():
        candidate[rows] &= index.upvote_mask(at_least)[:m]
    for sources, rows in source_rows.items():
        candidate[rows] &= index.source_mask(sources)[:m]
    if excl_rows:
        candidate &= index.excluded.weigh(excl_rows, excl_ptr, m) == 0
    candidate[own] = False
    candidate[_cells(index, sent, sent_n, m)] = False
    total = relevance
    total += index.boost[:m]
    key = total - index.tie[:m]  # float64: the tie-break ranks are below float32's resolution
    # Non-candidates sink far below every candidate but stay distinct: argpartition slows
    # down a lot on runs of equal values such as -inf.
    np.subtract(key, OUT_OF_RANK, out=key, where=~candidate)

    # top k by key: argpartition, then sort the k
    limit = m if None in wanted else min(m, max(k for k in wanted if k is not None))
    if limit < m:
        picked = np.argpartition(key, m - limit, axis=1)[:, m - limit :]
    else:
        picked = np.broadcast_to(np.arange(m), (n_readers, m))
    picked_keys = np.take_along_axis(key, picked, axis=1)
    by_key = np.argsort(picked_keys, axis=1)[:, ::-1]
    cols_sorted = np.take_along_axis(picked, by_key, axis=1)
    found = (picked_keys > -OUT_OF_RANK / 2).sum(axis=1).tolist()
    col_rows = cols_sorted.tolist()
    score_rows = np.take_along_axis(total, cols_sorted, axis=1).tolist()
    profile_rows = np.take_along_axis(learned, cols_sorted, axis=1).tolist() if learned is not None else None
    ids = index.ids

    results: list[list[Match]] = []
    no_profile: list[float] = []
    trending_set = set(trending)
    for r, request in enumerate(requests):
        k = wanted[r]
        count = found[r] if k is None or k > found[r] else k
        cols = col_rows[r][:count]
        learned_here = profile_rows[r][:count] if profile_rows is not None else no_profile
        explainer = _Explainer(index, request, cols, learned_here)
        fixed = None if with_reasons else (TRENDING if r in trending_set else NO_REASONS)
        chosen = []
        for col, value in zip(cols, score_rows[r], strict=False):
            match = _new(Match)
            match._paper_id = ids[col]
            match._score = value
            match._reasons = fixed
            match._parts = None
            match._explainer = explainer
            match._pos = col
            chosen.append(match)
        results.append(chosen)
    return results


def _cells(index: PaperIndex, ids: list[int], counts: list[int], m: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the cells where reader r's ``counts[r]`` ids (one after the other in
    ``ids``) name one of the first ``m`` papers: for scattering, cheaper than a full mask."""
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cols = index.columns_of(np.array(ids, dtype=np.int64))
    rows = np.repeat(np.arange(len(counts)), counts)
    inside = (cols >= 0) & (cols < m)
    return rows[inside], cols[inside]


def _rocchio(index: PaperIndex, ids: list[int], counts: list[int]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Readers × kernel rows: 1/|liked| on each liked or seed paper, −0.5/|disliked| on each
    disliked one (papers the kernel has no row for left out); and who has a liked row at all.

    ``ids`` holds each reader's liked then disliked papers, ``counts`` the two counts per reader.
    """
    n_readers = len(counts) // 2
    side = np.repeat(np.tile(np.array([1.0, -score.DISLIKE_WEIGHT], dtype=np.float32), n_readers), counts)
    group = np.repeat(np.arange(2 * n_readers), counts)  # 2r: reader r's liked, 2r + 1: disliked
    rows = index.profile_rows_of(np.array(ids, dtype=np.int64))
    known = rows >= 0
    side, group, rows = side[known], group[known], rows[known]
    per_group = np.bincount(group, minlength=2 * n_readers)
    indptr = np.concatenate([[0], np.cumsum(per_group.reshape(n_readers, 2).sum(axis=1))])
    # float32 like the kernel: a float64 matrix would make scipy convert the kernel per chunk
    data = side / per_group[group].astype(np.float32)
    weights = sp.csr_matrix((data, rows, indptr), shape=(n_readers, index.kernel.shape[0]))
    return weights, per_group[0::2] > 0


class _Explainer:
    """The reasons and score parts of one reader's matches, worked out paper by paper when asked."""

    __slots__ = ("_keys", "cols", "index", "profile", "request")

    def __init__(self, index: PaperIndex, request: MatchRequest, cols: list[int], profile: list[float]) -> None:
        self.index = index
        self.request = request
        self.cols = cols
        self.profile = profile
        self._keys: list[tuple[str, str]] | None = None

    def keys(self) -> list[tuple[str, str]]:
        """(keyword as written, its term key) for each of the reader's keywords."""
        keys = self._keys
        if keys is None:
            keys = self._keys = [(raw, t.key) for raw in self.request.preferences.keywords if (t := term_of(raw))]
        return keys

    def _profile_at(self, pos: int) -> float:
        return self.profile[self.cols.index(pos)] if self.profile and pos in self.cols else 0.0

    def explain(self, pos: int) -> Reasons:
        index, prefs = self.index, self.request.preferences
        if not prefs.has_filters:
            return Reasons(trending=True, like=self._like(pos))
        terms: tuple[TermHit, ...] = ()
        for raw, key in self.keys():
            terms += index.term_hits(raw, key, pos)
        names: tuple[str, ...] = ()
        for name in prefs.authors:
            names += index.authors_of(pos, normalise_author(name))
        slugs = tuple(sorted(set(prefs.topics) & index.papers[pos].topics))
        evidence = index.evidence(pos) if slugs else {}
        return Reasons(
            terms=terms,
            topics=slugs,
            authors=names,
            evidence=tuple(evidence[s] for s in slugs if s in evidence),
            like=self._like(pos),
        )

    def _like(self, pos: int) -> Liked | None:
        """The liked or seed paper closest to this one, when the profile visibly counts."""
        profile = self.request.profile
        if profile.empty or self._profile_at(pos) < 1:
            return None
        index = self.index
        ids = [i for i in profile.positive if i in index.profile_row]
        if not ids:
            return None
        closest = ids[int(np.argmax(index.kernel[[index.profile_row[i] for i in ids], pos]))]
        kind: SeedKind = "liked" if closest in profile.liked else "seed"
        return Liked(closest, index.profile_titles.get(closest, ""), kind)

    def parts(self, pos: int) -> tuple[float, ...]:
        """The score's parts in the order of ``score.PARTS``."""
        index, prefs = self.index, self.request.preferences
        keywords = 0.0
        for _, key in self.keys():
            title, abstract = index.keyword_hits[key].spans.get(pos, ((), ()))
            keywords += score.keyword_points(bool(title), bool(abstract))
        paper = index.papers[pos]
        followed = {normalise_author(a) for a in paper.authors}
        authors = score.AUTHOR * sum(normalise_author(a) in followed for a in prefs.authors)
        topics = score.topic_points(len(set(prefs.topics) & paper.topics))
        upvotes, recency = float(index.upvote_boost[pos]), float(index.recency_boost[pos])
        return (keywords, authors, self._profile_at(pos), topics, upvotes, recency)


__all__ = ["CHUNK", "match_many", "match_one"]
