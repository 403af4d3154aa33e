"""``PaperIndex``: the papers of one window as columns of small matrices, built once per window.

Every paper is a column, newest first, so that a reader's window (papers first seen since their
last digest) is a prefix of the columns. Per column the index holds the paper's boost and its
tie-break rank; per *feature* (a keyword, an author, a topic, as readers name them) a sparse row
of points over the columns, looked up on first use and kept:

- a keyword's row holds 5 / 3 / 8 points where it occurs in the title / abstract / both, found
  by one pass of a ``TermSet`` over every paper's tokens for all keywords new to the index;
- an author's row holds 5 where the paper lists that (normalised) name;
- a topic's row holds 1 where the paper is in the topic; an exclusion's row 1 where it occurs.

A reader is then a row of weights over these features, and the rule part of their scores for
all papers is one sparse matrix product (see ``match.py``). The learned part uses the paper
vectors (``vectors.py``, fitted on the window on first use) and a *kernel*: the cosine of each
liked, disliked or seed paper with each window paper, one row per such paper, added as batches
bring readers whose profiles name them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from service.matching import score
from service.matching.records import Field, IndexedPaper, ProfilePaper, TermHit, TopicReason
from service.matching.terms import Term, TermSet, Tokens, normalise_author, parse_term, tokenize
from service.matching.rocchio import presence
from service.matching.vectors import PaperVectors, counts_of

if TYPE_CHECKING:
    from service.topics.taxonomy import Taxonomy

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
# Subtracted per tie-break rank: far below the 1/1024 grid of scores (see score.py), far above
# float64 resolution for any score a reader can reach.
TIE_STEP = 2.0**-33
DENSE_LIMIT = 8_000_000  # feature values kept as one dense float32 array (32 MB) before gathering per group


def micros(at: datetime) -> int:
    """Exact microseconds since the epoch (a float timestamp could tie distinct instants)."""
    return (at - _EPOCH) // _MICRO


@lru_cache(maxsize=65536)
def term_of(raw: str) -> Term | None:
    """``parse_term``, memoised: readers share most of their keywords."""
    return parse_term(raw)


class Features:
    """Named sparse rows over the index's columns, stacked into one CSR matrix on demand.

    ``by_raw`` maps a feature as readers write it (a keyword, an author) to its row, so that
    building a reader's row of weights is plain dictionary look-ups.
    """

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.row: dict[str, int] = {}
        self.by_raw: dict[str, int] = {}
        self._indices: list[np.ndarray] = []
        self._data: list[np.ndarray] = []
        self._matrix: sp.csr_matrix | None = None
        self._dense: dict[int, np.ndarray] = {}

    def add(self, name: str, cols: Sequence[int], points: Sequence[float]) -> int:
        if name in self.row:
            return self.row[name]
        order = np.argsort(np.asarray(cols, dtype=np.int64), kind="stable")
        row = len(self._indices)
        self._indices.append(np.asarray(cols, dtype=np.int32)[order])
        self._data.append(np.asarray(points, dtype=np.float32)[order])
        self._matrix = None
        self._dense = {}
        self.row[name] = row  # published last: the web shares an index between threads
        return row

    @property
    def matrix(self) -> sp.csr_matrix:
        matrix = self._matrix
        if matrix is None or matrix.shape[0] != len(self._indices):  # (built before a row was added)
            sizes = [len(i) for i in self._indices]
            indptr = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
            indices = np.concatenate(self._indices) if sizes else np.zeros(0, dtype=np.int32)
            data = np.concatenate(self._data) if sizes else np.zeros(0, dtype=np.float32)
            matrix = self._matrix = sp.csr_matrix((data, indices, indptr), shape=(len(sizes), self.columns))
        return matrix

    def weigh(self, rows: np.ndarray, ptr: np.ndarray, m: int) -> np.ndarray:
        """Σ of the named rows per reader (rows[ptr[r]:ptr[r+1]] for reader r) over the first
        ``m`` columns, dense. While all features fit in ``DENSE_LIMIT`` values they are kept
        dense; beyond, only the rows this group of readers uses are made dense, so memory
        follows their features, not every feature the index knows."""
        readers = len(ptr) - 1
        if not len(rows):
            return np.zeros((readers, m), dtype=np.float32)
        if len(self._indices) * self.columns <= DENSE_LIMIT:
            dense = self._dense.get(m)
            if dense is None or dense.shape[0] != len(self._indices):
                dense = self._dense[m] = np.ascontiguousarray(self.matrix.toarray()[:, :m])
            weights = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), rows, ptr), shape=(readers, dense.shape[0]))
            return np.asarray(weights @ dense)
        used, local = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
        dense = np.ascontiguousarray(self.matrix[used].toarray()[:, :m])
        weights = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), local, ptr), shape=(readers, len(used)))
        return np.asarray(weights @ dense)


@dataclass(frozen=True, slots=True)
class KeywordHits:
    """Where one keyword (by key) occurs: column → (title spans, abstract spans)."""

    spans: dict[int, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]]


class PaperIndex:
    """One window's papers as columns, with their boosts, features, vectors and kernel."""

    def __init__(self, papers: Iterable[IndexedPaper], now: datetime, *, taxonomy: Taxonomy | None = None) -> None:
        self.now = now
        self.taxonomy = taxonomy
        # newest first (a window is a prefix); equal instants by id
        self.papers: tuple[IndexedPaper, ...] = tuple(sorted(papers, key=lambda p: (-micros(p.first_seen_at), p.id)))
        n = self.size = len(self.papers)
        self.ids = tuple(p.id for p in self.papers)
        self.column = {paper_id: col for col, paper_id in enumerate(self.ids)}
        if len(self.column) != n:
            raise ValueError("paper ids must be unique within an index")
        self._column_of = IdTable(self.ids, range(n))
        self.seen = np.array([micros(p.first_seen_at) for p in self.papers], dtype=np.int64)
        self.upvotes = np.array([p.upvotes for p in self.papers], dtype=np.int64)
        by_tie = sorted(range(n), key=lambda col: (-self.papers[col].upvotes, self.papers[col].id))
        rank = np.empty(n, dtype=np.float64)
        rank[by_tie] = np.arange(n, dtype=np.float64)
        self.tie = rank * TIE_STEP
        # float32 holds every score exactly (multiples of 1/1024 below 2**13, see score.py)
        self.upvote_boost = np.array([score.upvote_boost(p.upvotes) for p in self.papers], dtype=np.float32)
        self.recency_boost = np.array([score.recency_boost(p.first_seen_at, now) for p in self.papers], dtype=np.float32)
        self.boost = self.upvote_boost + self.recency_boost
        self.tokens: tuple[tuple[Tokens, Tokens], ...] = tuple((tokenize(p.title), tokenize(p.abstract)) for p in self.papers)
        self.said = Features(n)  # keywords and authors
        self.topics = Features(n)
        self.excluded = Features(n)
        self.keyword_hits: dict[str, KeywordHits] = {}  # by term key
        self._authors: dict[str, list[int]] = {}
        for col, p in enumerate(self.papers):
            for name in dict.fromkeys(normalise_author(a) for a in p.authors):
                self._authors.setdefault(name, []).append(col)
        self._topic_cols: dict[str, list[int]] = {}
        for col, p in enumerate(self.papers):
            for slug in p.topics:
                self._topic_cols.setdefault(slug, []).append(col)
        self._upvote_masks: dict[int, np.ndarray] = {}
        self._source_masks: dict[tuple[str, ...], np.ndarray] = {}
        self._evidence: dict[int, dict[str, TopicReason]] = {}
        self._term_hits: dict[tuple[str, int], tuple[TermHit, ...]] = {}
        self._vectors: PaperVectors | None = None
        self.profile_row: dict[int, int] = {}  # paper id → kernel row
        self.profile_titles: dict[int, str] = {}
        self.kernel = np.zeros((0, n), dtype=np.float32)
        # the kernel's rows as TF-IDF vectors (rows × terms): the profile's terms are picked from them
        self.profile_matrix: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.profile_presence: sp.csr_matrix = self.profile_matrix  # rocchio.presence of it
        self._kernel_prefix: dict[int, np.ndarray] = {}
        self._profile_row_of = IdTable([], [])

    @classmethod
    def build(cls, papers: Iterable[IndexedPaper], now: datetime, *, taxonomy: Taxonomy | None = None) -> PaperIndex:
        return cls(papers, now, taxonomy=taxonomy)

    def columns_of(self, ids: np.ndarray) -> np.ndarray:
        """The column of each paper id, -1 for ids outside the window."""
        return self._column_of(ids)

    def window(self, since: datetime) -> int:
        """How many columns (the newest) were first seen at or after ``since``."""
        return int(np.searchsorted(-self.seen, -micros(since), side="right"))

    # -- features ---------------------------------------------------------------------------

    def add_keywords(self, terms: Iterable[Term]) -> None:
        """Find every term new to the index in every paper: one pass over all tokens."""
        new = [t for t in dict.fromkeys(terms) if t.key not in self.keyword_hits]
        if not new:
            return
        found = TermSet(new)
        spans: list[dict[int, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]]] = [{} for _ in new]
        for col, (title, abstract) in enumerate(self.tokens):
            in_title, in_abstract = found.find(title), found.find(abstract)
            for t in in_title.keys() | in_abstract.keys():
                spans[t][col] = (
                    tuple(title.span(i, j) for i, j in in_title.get(t, ())),
                    tuple(abstract.span(i, j) for i, j in in_abstract.get(t, ())),
                )
        for term, hits in zip(found.terms, spans, strict=True):
            cols = list(hits)
            points = [score.keyword_points(bool(t), bool(a)) for t, a in hits.values()]
            self.said.add("k:" + term.key, cols, points)
            self.excluded.add(term.key, cols, [1.0] * len(cols))
            self.keyword_hits[term.key] = KeywordHits(hits)

    def add_keyword_spellings(self, raws: Iterable[str]) -> None:
        """Map keywords and exclusions as readers write them to their rows (terms known)."""
        said, excluded = self.said, self.excluded
        for raw in raws:
            if raw not in excluded.by_raw:
                term = term_of(raw)
                if term is None:  # no letters or digits (Preferences refuse those): matches nothing
                    said.by_raw[raw] = said.add("nothing", [], [])
                    excluded.by_raw[raw] = excluded.add("nothing", [], [])
                else:
                    said.by_raw[raw] = said.row["k:" + term.key]
                    excluded.by_raw[raw] = excluded.row[term.key]

    def add_authors(self, raws: Iterable[str]) -> None:
        said = self.said
        for raw in raws:
            if raw not in said.by_raw:
                name = normalise_author(raw)
                cols = self._authors.get(name, [])
                said.by_raw[raw] = said.add("a:" + name, cols, [score.AUTHOR] * len(cols))

    def add_topics(self, slugs: Iterable[str]) -> None:
        topics = self.topics
        for slug in slugs:
            if slug not in topics.by_raw:
                cols = self._topic_cols.get(slug, [])
                topics.by_raw[slug] = topics.add(slug, cols, [score.TOPIC] * len(cols))

    def term_hits(self, raw: str, key: str, col: int) -> tuple[TermHit, ...]:
        """The reasons to show for keyword ``raw`` on one paper (shared by every reader)."""
        spans = self.keyword_hits[key].spans.get(col)
        if spans is None:
            return ()
        found = self._term_hits.get((raw, col))
        if found is None:
            title, abstract = spans
            fields: tuple[tuple[Field, tuple[tuple[int, int], ...]], ...] = (("title", title), ("abstract", abstract))
            found = self._term_hits[raw, col] = tuple(TermHit(raw, f, s) for f, s in fields if s)
        return found

    def authors_of(self, col: int, name: str) -> tuple[str, ...]:
        """The paper's own spelling of a followed author's (normalised) name."""
        return tuple(a for a in self.papers[col].authors if normalise_author(a) == name)

    def evidence(self, col: int) -> dict[str, TopicReason]:
        """Why the paper is in each of its topics, from the taxonomy (empty without one)."""
        found = self._evidence.get(col)
        if found is None:
            found = {}
            if self.taxonomy is not None:
                from service.topics.taxonomy import classify_evidence  # topics import matching

                paper = self.papers[col]
                title, abstract = self.tokens[col]
                for e in classify_evidence(title, abstract, paper.categories, paper.primary_category, self.taxonomy):
                    found[e.slug] = TopicReason(e.slug, e.terms, e.category)
            self._evidence[col] = found
        return found

    # -- filters ----------------------------------------------------------------------------

    def upvote_mask(self, at_least: int) -> np.ndarray:
        mask = self._upvote_masks.get(at_least)
        if mask is None:
            mask = self._upvote_masks[at_least] = self.upvotes >= at_least
        return mask

    def source_mask(self, sources: tuple[str, ...]) -> np.ndarray:
        mask = self._source_masks.get(sources)
        if mask is None:
            wanted = frozenset(sources)
            mask = np.array([not wanted.isdisjoint(p.sources) for p in self.papers], dtype=bool)
            self._source_masks[sources] = mask
        return mask

    # -- vectors and kernel -----------------------------------------------------------------

    @property
    def vectors(self) -> PaperVectors:
        """TF-IDF of the window's papers, fitted when a reader with a profile first needs it."""
        if self._vectors is None:
            self._vectors = PaperVectors([counts_of(p.term_counts, p.title, p.abstract, p.categories) for p in self.papers])
        return self._vectors

    def add_profile_papers(self, papers: Iterable[ProfilePaper | IndexedPaper]) -> None:
        """Give the kernel a row for every liked, disliked or seed paper it has not seen yet."""
        new = {p.id: p for p in papers if p.id not in self.profile_row}
        if not new or not self.size:
            return
        chosen = list(new.values())
        rows = self.vectors.weigh([counts_of(p.term_counts, p.title, p.abstract, p.categories) for p in chosen])
        similar = self.vectors.similarity(rows)
        start = self.kernel.shape[0]
        kernel = np.vstack([self.kernel, similar])
        matrix = rows if not start else sp.vstack([self.profile_matrix, rows], format="csr")
        for offset, paper in enumerate(chosen):
            self.profile_titles[paper.id] = paper.title
        # readers in other threads may be reading: publish the rows only once they exist
        self.profile_matrix, self.profile_presence = matrix, presence(matrix)
        self.kernel = kernel
        self._kernel_prefix = {}
        self.profile_row.update((p.id, start + i) for i, p in enumerate(chosen))
        self._profile_row_of = IdTable(list(self.profile_row), list(self.profile_row.values()))

    def profile_rows_of(self, ids: np.ndarray) -> np.ndarray:
        """The kernel row of each paper id, -1 for papers the kernel has no row for."""
        return self._profile_row_of(ids)

    def kernel_prefix(self, m: int) -> np.ndarray:
        """The kernel's first ``m`` columns as one contiguous array (for the sparse product)."""
        found = self._kernel_prefix.get(m)
        if found is None or found.shape[0] != self.kernel.shape[0]:
            found = self._kernel_prefix[m] = np.ascontiguousarray(self.kernel[:, :m])
        return found

    def missing_profile_papers(self, ids: Iterable[int]) -> list[IndexedPaper]:
        """Window papers named by profiles that have no kernel row yet."""
        return [self.papers[self.column[i]] for i in ids if i not in self.profile_row and i in self.column]



class IdTable:
    """Paper id → a small integer (a column, a kernel row), looked up for many ids at once.

    A dense array over the ids' span when that is at most ``TABLE_SPAN`` long (paper ids are
    database keys: a window's, or its readers' voted papers', are a modest range), else binary
    search: numpy's ``searchsorted`` with unsorted queries is ~50× slower than indexing.
    """

    TABLE_SPAN = 1 << 24  # 64 MB of int32 at most

    def __init__(self, keys: Sequence[int], values: Sequence[int]) -> None:
        ids = np.asarray(keys, dtype=np.int64)
        found = np.asarray(values, dtype=np.int64)
        self._low = int(ids.min()) if len(ids) else 0
        span = int(ids.max()) - self._low + 1 if len(ids) else 0
        self._table: np.ndarray | None = None
        if span <= self.TABLE_SPAN:
            self._table = np.full(span, -1, dtype=np.int32)
            self._table[ids - self._low] = found
        order = np.argsort(ids, kind="stable")
        self._keys, self._values = ids[order], found[order]

    def __call__(self, wanted: np.ndarray) -> np.ndarray:
        """The value of each id, -1 for ids without one."""
        if not len(self._keys):
            return np.full(len(wanted), -1, dtype=np.int64)
        if self._table is not None:
            at = wanted - self._low
            inside = (at >= 0) & (at < len(self._table))
            return np.where(inside, self._table[np.where(inside, at, 0)], -1)
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        return np.where(self._keys[at] == wanted, self._values[at], -1)
