"""``match_many``: every reader's ranked papers, scored as ``score.py`` says, for a whole batch.

The batch's requests are first laid out as flat columns (``_Readers``: each reader's feature
rows, profile weights, own and already sent papers, one after the other), in one pass over the
requests; readers are ordered by window (how many of the newest columns they see), so that
readers seeing the same columns are neighbours. Then a chunk of neighbours at a time is scored
as matrices of readers × papers:

1. said = readers × features (keyword and author weights, all 1) @ features × papers (points);
   inferred = the same product over topics, capped at ``score.MAX_TOPICS``;
2. profile = readers × kernel rows (Rocchio weights) @ kernel (cosines), standardised per reader;
   for cold starts (2..rocchio.FEW liked papers) their term-space profile vectors, made once for
   the batch (``profile_vectors.py``), @ the window's papers over the terms they use;
3. candidates: the rules of ``score.py`` as boolean masks (window, upvotes, sources, exclusions,
   already sent or voted on);
4. top k per reader by score, then tie-break rank, with ``argpartition``.

Each reader gets a ``Ranked`` (``ranked.py``): the picked columns and scores, turned into
``Match`` objects when first read, whose reasons and parts are worked out on first access. So
planning pays for ids and scores only.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import add, attrgetter

import numpy as np
import scipy.sparse as sp

from service.matching import score
from service.matching.index import PaperIndex, term_of
from service.matching.profile_vectors import ColdStart
from service.matching.ranked import Picks, Ranked
from service.matching.records import MatchRequest, Profile, Reasons
from service.matching.rocchio import less_typical

# Readers per chunk: their readers × papers arrays (float64 keys: 2 MB at 500 papers) stay near
# the CPU; larger chunks spread the fixed cost of each numpy and scipy call over more readers
# (bench/match.py: 512 ~5-10 % faster than 256, 1024 no better; notes/helper-H6.md).
CHUNK = 512
# Far beyond any score a reader can reach (50 keywords in title and abstract: 400), and small
# enough that float32 keeps scores exact after subtracting it (multiples of 1/1024 below 2**13).
OUT_OF_RANK = 4096.0
TRENDING = Reasons(trending=True)
NO_REASONS = Reasons()
EVERY = 1 << 62  # as a number of matches wanted: every candidate
# The preferences matching reads, fetched in one call per reader (pydantic attributes are slow)
_PREFERENCES = attrgetter("keywords", "authors", "topics", "exclude", "min_upvotes", "sources", "max_papers")
NO_PICKS = Picks(np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.float32), None)


def match_many(requests: Sequence[MatchRequest], index: PaperIndex, *, with_reasons: bool = True) -> list[Ranked]:
    """One ranked sequence of matches per request, in request order.

    ``with_reasons=False`` leaves every ``Match.reasons`` empty (trending still flagged): for
    callers that only need the papers and scores, such as deciding which digests are empty.
    Keywords, authors and topics new to the index are looked up first, and so are the window
    papers the profiles name; other profile papers must be in the index already
    (``PaperIndex.add_profile_papers``), else they count as unknown and weigh nothing.

    The cyclic garbage collector is paused meanwhile: matching allocates many small objects and
    no reference cycles, and each collection pass would walk all results so far.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        if not index.size or not requests:
            return [Ranked(index, r, NO_PICKS, 0, 0, None) for r in requests]
        results: list[Ranked | None] = [None] * len(requests)
        widths: dict[object, int] = {}
        width = [widths.get(r.since) or widths.setdefault(r.since, index.window(r.since)) for r in requests]
        order = sorted(range(len(requests)), key=width.__getitem__)
        sorted_width = [width[i] for i in order]
        readers = _Readers.of(requests, np.array(order, dtype=np.int64), index)
        start = bisect_left(sorted_width, 1)  # an empty window matches nothing
        while start < len(order):
            m = sorted_width[start]
            end = min(start + CHUNK, bisect_right(sorted_width, m, lo=start))
            for i, ranked in zip(order[start:end], _rank(index, readers, start, end, m, with_reasons), strict=True):
                results[i] = ranked
            start = end
        return [Ranked(index, requests[i], NO_PICKS, 0, 0, None) if r is None else r for i, r in enumerate(results)]
    finally:
        if paused:
            gc.enable()


def match_one(request: MatchRequest, index: PaperIndex, with_reasons: bool = True) -> Ranked:
    return match_many([request], index, with_reasons=with_reasons)[0]


@dataclass(frozen=True, slots=True)
class _Ragged:
    """Values of many readers one after the other: reader r's are ``values[ptr[r]:ptr[r + 1]]``."""

    values: np.ndarray
    ptr: np.ndarray  # int64, one more than there are readers

    @classmethod
    def of(cls, values: np.ndarray, counts: Sequence[int] | np.ndarray) -> _Ragged:
        return cls(values, np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]))

    @classmethod
    def of_ids(cls, ids: Sequence[Collection[int]]) -> _Ragged:
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        return cls.of(np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(counts.sum())), counts)

    def take(self, order: np.ndarray) -> tuple[_Ragged, np.ndarray]:
        """Readers ``order[0]``, ``order[1]``, ... one after the other; and where each of their
        values was in ``values`` (to reorder arrays aligned with them alike)."""
        starts = self.ptr[:-1][order]
        counts = self.ptr[1:][order] - starts
        ptr = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        at = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
        return _Ragged(self.values[at], ptr), at

    def readers(self) -> np.ndarray:
        """The reader of each value."""
        return np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))

    def chunk(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(values, ptr) of readers start..end-1, the ptr counted from their first value."""
        ptr = self.ptr[start : end + 1]
        return self.values[ptr[0] : ptr[-1]], ptr - ptr[0]


@dataclass(frozen=True, slots=True)
class _Cells:
    """(reader, column) cells sorted by reader, such as each reader's own papers in the window."""

    readers: np.ndarray
    cols: np.ndarray
    ptr: np.ndarray  # reader r's cells are [ptr[r], ptr[r + 1])

    @classmethod
    def of(cls, index: PaperIndex, ids: _Ragged, *, distinct: bool = False) -> _Cells:
        """The cells of each reader's paper ids, those outside the window left out; ``distinct``:
        each cell once, for a reader who names a paper twice."""
        cols = index.columns_of(ids.values)
        inside = cols >= 0
        readers, cols = ids.readers()[inside], cols[inside]
        if distinct:
            readers, cols = np.divmod(np.unique(readers * index.size + cols), index.size)
        return cls(readers, cols, np.searchsorted(readers, np.arange(len(ids.ptr))))

    def chunk(self, start: int, end: int, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of readers start..end-1 (rows counted from start) in the first m columns:
        for scattering, cheaper than a full mask."""
        at, to = self.ptr[start], self.ptr[end]
        cols = self.cols[at:to]
        inside = cols < m
        return self.readers[at:to][inside] - start, cols[inside]


@dataclass(frozen=True, slots=True)
class _Readers:
    """A batch's requests (in rank order) as flat columns, worked out once for all chunks."""

    requests: list[MatchRequest]
    said: _Ragged  # rows of index.said: keywords, then followed authors
    topics: _Ragged  # rows of index.topics
    excluded: _Ragged  # rows of index.excluded
    trending: np.ndarray  # bool: no keywords, authors or topics
    min_upvotes: np.ndarray  # int64
    sources: dict[tuple[str, ...], np.ndarray]  # wanted sources → the readers naming them
    wanted: np.ndarray  # int64: how many matches each reader wants, EVERY for all candidates
    rocchio: _Ragged  # kernel rows of the profile papers, with their weights (below); none for cold starts
    weights: np.ndarray  # float32, aligned with rocchio.values
    has_liked: np.ndarray  # bool: the reader has a liked or seed paper the kernel knows
    cold: ColdStart  # readers with 2..rocchio.FEW liked papers: their profile vectors in term space
    own: _Cells  # papers voted on or seeded: never offered again, left out of the profile's mean
    sent: _Cells

    @classmethod
    def of(cls, requests: Sequence[MatchRequest], order: np.ndarray, index: PaperIndex) -> _Readers:
        """The requests laid out in the order ``order`` names them, adding to the index every
        feature and profile paper it lacks.

        Read with list comprehensions and ``map`` over the batch (a plain loop per request would
        cost as much as scoring it), in request order (the order the objects were made in: read
        in rank order, cache misses cost 25 % more), then reordered as arrays.
        """
        n = len(requests)
        keywords, authors, topics, exclude, min_upvotes, wanted_sources, max_papers = map(
            list, zip(*map(_PREFERENCES, (r.preferences for r in requests)), strict=True)
        )
        _add_features(index, keywords, exclude, authors, topics)
        judged, liked = _judged([r.profile for r in requests])
        judged, at = judged.take(order)
        own = _Cells.of(index, judged, distinct=True)  # (score.profile_points wants them so)
        # window papers named by profiles get their kernel row here; others were added by the caller
        index.add_profile_papers(index.missing_profile_papers(index.ids[c] for c in np.unique(own.cols).tolist()))
        rocchio, weights, sides = _rocchio(index, judged, liked[at])
        # cold starts are scored from their profile vectors, made here once for the batch: their
        # kernel rows are dropped, so the chunks' kernel products skip them
        cold = ColdStart.of(_matrix(rocchio, weights, index.kernel.shape[0]), sides, index)
        rocchio, weights = _without(rocchio, weights, cold.readers)

        said = list(map(add, keywords, authors))
        said_n = np.fromiter(map(len, said), dtype=np.int64, count=n)
        topic_n = np.fromiter(map(len, topics), dtype=np.int64, count=n)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        sources: dict[tuple[str, ...], list[int]] = {}
        for r, wanted in enumerate(wanted_sources):
            if wanted:
                sources.setdefault(wanted, []).append(rank[r])
        return cls(
            requests=[requests[i] for i in order.tolist()],
            said=_Ragged.of(_rows(index.said.by_raw, said), said_n).take(order)[0],
            topics=_Ragged.of(_rows(index.topics.by_raw, topics), topic_n).take(order)[0],
            excluded=_Ragged.of(_rows(index.excluded.by_raw, exclude), list(map(len, exclude))).take(order)[0],
            trending=((said_n == 0) & (topic_n == 0))[order],
            min_upvotes=np.array(min_upvotes, dtype=np.int64)[order],
            sources={s: np.sort(rows) for s, rows in sources.items()},
            wanted=_wanted(max_papers, [r.limit for r in requests])[order],
            rocchio=rocchio,
            weights=weights,
            has_liked=sides[:, 0] > 0,
            cold=cold,
            own=own,
            sent=_Cells.of(index, _Ragged.of_ids([r.already_sent for r in requests]).take(order)[0]),
        )

    def similarity(self, start: int, end: int, m: int, index: PaperIndex) -> np.ndarray | None:
        """Readers start..end-1 × the first m papers: the Rocchio similarity of their profiles
        (cold starts from their term-space vectors, rocchio.py says why; the rest by the kernel);
        None when no reader of them has a profile paper the kernel knows."""
        cold = self.cold.similarity(start, end, m)
        rows, ptr = self.rocchio.chunk(start, end)
        if not len(rows):
            if cold is None:
                return None
            similarity = np.zeros((end - start, m), dtype=np.float32)
        else:
            at = self.rocchio.ptr
            weights = sp.csr_matrix((self.weights[at[start] : at[end]], rows, ptr), shape=(end - start, index.kernel.shape[0]))
            similarity = np.asarray(weights @ index.kernel_prefix(m))
        if cold is not None:
            similarity[cold[0]] = cold[1]
        return similarity


def _wanted(max_papers: list[int], limits: list[int | None]) -> np.ndarray:
    """``MatchRequest.wanted`` of each reader, EVERY for None, without a property call per
    reader (it reads a pydantic attribute: 0.4 µs a reader at 100,000)."""
    given = [limit is not None for limit in limits]
    wanted = np.where(given, np.array([limit or 0 for limit in limits], dtype=np.int64), np.array(max_papers, dtype=np.int64))
    wanted[wanted == 0] = EVERY
    return wanted


def _add_features(
    index: PaperIndex,
    keywords: list[tuple[str, ...]],
    exclude: list[tuple[str, ...]],
    authors: list[tuple[str, ...]],
    topics: list[tuple[str, ...]],
) -> None:
    """Look up, once for the batch, every keyword, author and topic new to the index."""
    raws = set(chain.from_iterable(keywords)).union(*exclude).difference(index.excluded.by_raw)
    index.add_keywords(t for t in map(term_of, sorted(raws)) if t is not None)
    index.add_keyword_spellings(raws)
    index.add_authors(dict.fromkeys(chain.from_iterable(authors)))
    index.add_topics(dict.fromkeys(chain.from_iterable(topics)))


def _rows(by_raw: dict[str, int], features: list[tuple[str, ...]]) -> np.ndarray:
    """Every reader's features as the index's rows, one reader after the other."""
    rows = map(by_raw.__getitem__, chain.from_iterable(features))
    return np.fromiter(rows, dtype=np.int32, count=sum(map(len, features)))


def _judged(profiles: list[Profile]) -> tuple[_Ragged, np.ndarray]:
    """Every reader's liked and seed papers, then their disliked ones; and which of the ids are liked or seeds."""
    n = len(profiles)
    liked = [p.positive for p in profiles]
    disliked = [p.disliked for p in profiles]
    runs = np.empty(2 * n, dtype=np.int64)  # per reader two runs: liked and seed papers, disliked ones
    runs[0::2] = np.fromiter(map(len, liked), dtype=np.int64, count=n)
    runs[1::2] = np.fromiter(map(len, disliked), dtype=np.int64, count=n)
    ids = np.fromiter(chain.from_iterable(map(add, liked, disliked)), dtype=np.int64, count=int(runs.sum()))
    return _Ragged.of(ids, runs[0::2] + runs[1::2]), np.repeat(np.tile([True, False], n), runs)


def _rocchio(index: PaperIndex, judged: _Ragged, liked: np.ndarray) -> tuple[_Ragged, np.ndarray, np.ndarray]:
    """Per reader, the kernel rows of their profile papers and the Rocchio weights: 1/|liked| on
    each liked or seed paper, −0.5/|disliked| on each disliked one (papers the kernel has no row
    for left out); and how many liked and disliked rows each has (readers × 2)."""
    n = len(judged.ptr) - 1
    rows = index.profile_rows_of(judged.values)
    known = rows >= 0
    rows, liked = rows[known], liked[known]
    group = 2 * judged.readers()[known] + ~liked  # 2r: reader r's liked and seed papers, 2r + 1: disliked
    per_group = np.bincount(group, minlength=2 * n)
    # float32 like the kernel: a float64 matrix would make scipy convert the kernel per chunk
    side = np.where(liked, np.float32(1.0), np.float32(-score.DISLIKE_WEIGHT))
    weights = (side / per_group[group]).astype(np.float32)
    sides = per_group.reshape(n, 2)
    return _Ragged.of(rows.astype(np.int32), sides.sum(axis=1)), weights, sides


def _matrix(rocchio: _Ragged, weights: np.ndarray, kernel_rows: int) -> sp.csr_matrix:
    """Every reader's Rocchio weights as one readers × kernel rows matrix, of its own arrays: scipy
    sorts a matrix's rows in place, and the kernel products sum in the arrays' order."""
    shape = (len(rocchio.ptr) - 1, kernel_rows)
    return sp.csr_matrix((weights, rocchio.values, rocchio.ptr), shape=shape, copy=True)


def _without(rocchio: _Ragged, weights: np.ndarray, readers: np.ndarray) -> tuple[_Ragged, np.ndarray]:
    """The kernel rows and weights with those of ``readers`` (bool per reader) left out."""
    if not readers.any():
        return rocchio, weights
    counts = np.diff(rocchio.ptr)
    keep = np.repeat(~readers, counts)
    return _Ragged.of(rocchio.values[keep], np.where(readers, 0, counts)), weights[keep]


def _rank(index: PaperIndex, readers: _Readers, start: int, end: int, m: int, with_reasons: bool) -> list[Ranked]:
    """Matches of readers start..end-1, who all see the ``m`` newest papers."""
    n_readers = end - start
    # relevance: said + inferred (+ the profile)
    relevance = index.said.weigh(*readers.said.chunk(start, end), m)
    topic_rows, topic_ptr = readers.topics.chunk(start, end)
    if len(topic_rows):
        inferred = index.topics.weigh(topic_rows, topic_ptr, m)
        np.minimum(inferred, score.MAX_TOPICS * score.TOPIC, out=inferred)
        relevance += inferred
    candidate = relevance > 0
    own = readers.own.chunk(start, end, m)  # the reader's own voted and seed papers
    learned: np.ndarray | None = None
    similarity = readers.similarity(start, end, m, index)
    if similarity is not None:
        has_liked = readers.has_liked[start:end]
        less_typical(similarity, index.vectors.typical, has_liked)  # the window's mean paper, as a weak dislike
        learned = score.profile_points(similarity, *own)
        if has_liked.any():
            np.logical_or(candidate, (learned >= score.PROFILE_CANDIDATE) & has_liked[:, None], out=candidate)
        relevance += learned
        np.logical_and(candidate, relevance > 0, out=candidate)
    trending = readers.trending[start:end]
    if trending.any():
        candidate[trending] = True
    # filters, exclusions, already sent or voted on
    # (the row-wise filters touch only the readers that set them: a fifth or so of a chunk)
    min_upvotes = readers.min_upvotes[start:end]
    strict = np.flatnonzero(min_upvotes)
    if len(strict):
        candidate[strict] &= index.upvotes[:m] >= min_upvotes[strict, None]
    for sources, rows in readers.sources.items():
        rows = rows[(rows >= start) & (rows < end)] - start
        if len(rows):
            candidate[rows] &= index.source_mask(sources)[:m]
    excl_rows, excl_ptr = readers.excluded.chunk(start, end)
    if len(excl_rows):
        excluding = np.flatnonzero(np.diff(excl_ptr))
        ptr = np.concatenate([[0], excl_ptr[excluding + 1]])  # their rows, the others' (none) left out
        candidate[excluding] &= index.excluded.weigh(excl_rows, ptr, m) == 0
    candidate[own] = False
    candidate[readers.sent.chunk(start, end, m)] = False
    total = relevance
    total += index.boost[:m]
    # Non-candidates sink far below every candidate but stay distinct: argpartition slows down a
    # lot on runs of equal values such as -inf. A product, not ``where=``: a masked subtract
    # branches on every cell and costs 3× as much.
    total -= np.float32(OUT_OF_RANK) * ~candidate
    key = total - index.tie[:m]  # float64: the tie-break ranks are below float32's resolution

    # top k by key: argpartition, then sort the k
    wanted = readers.wanted[start:end]
    limit = min(m, int(wanted.max()))
    if limit < m:
        picked = np.argpartition(key, m - limit, axis=1)[:, m - limit :]
    else:
        picked = np.broadcast_to(np.arange(m), (n_readers, m))
    picked_keys = np.take_along_axis(key, picked, axis=1)
    by_key = np.argsort(picked_keys, axis=1)[:, ::-1]
    cols = np.take_along_axis(picked, by_key, axis=1)
    found = (picked_keys > -OUT_OF_RANK / 2).sum(axis=1)
    counts = np.minimum(found, wanted).tolist()
    profile = np.take_along_axis(learned, cols, axis=1) if learned is not None else None
    picks = Picks(cols, np.take_along_axis(total, cols, axis=1), profile)
    requests = readers.requests[start:end]
    if with_reasons:
        return [Ranked(index, requests[r], picks, r, counts[r], None) for r in range(n_readers)]
    fixed = [TRENDING if t else NO_REASONS for t in trending.tolist()]
    return [Ranked(index, requests[r], picks, r, counts[r], fixed[r]) for r in range(n_readers)]


__all__ = ["CHUNK", "match_many", "match_one"]
