"""Cold-start readers' profile vectors: made once per batch, scored with one product per chunk.

``rocchio.py`` defines a cold-start reader's profile (2 to ``rocchio.FEW`` liked or seed papers):
the Rocchio mean in term space, each term weighted by the share of the side's papers that have it.
Worked out per chunk of 512 readers as sparse × sparse products against the window, it cost
~96 µs of CPU per such reader (bench/match.py's readers; the kernel path costs ~2 a reader).

Here the vectors are made for all the batch's cold starts at once (``rocchio.profile_vectors``,
the same function ``rocchio.profile_similarity`` multiplies out, so each reader's terms come out
in the same order with the same float32 values), kept over only the terms they use, and each chunk's similarities
are one CSR × dense product against the window papers over those terms. scipy sums both kinds of
product term by term in the vector's own order, so the similarities are bit for bit what
``rocchio.profile_similarity`` gives (``tests/service/matching/test_profile_vectors.py`` pins it),
for ~39 µs a cold start: ~16 making the vector, the rest its ~300 terms × the window's papers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from service.matching.rocchio import FEW, SHARED, few_liked, profile_vectors

if TYPE_CHECKING:
    from service.matching.index import PaperIndex


@dataclass(frozen=True, slots=True)
class ColdStart:
    """A batch's cold-start readers (in the batch's rank order) with their profile vectors."""

    readers: np.ndarray  # bool per reader of the batch: a cold start
    before: np.ndarray  # int64, one more than there are readers: cold starts before each reader
    vectors: sp.csr_matrix  # cold starts × the terms they use (``terms``), rows in rank order
    terms: np.ndarray  # the vocabulary columns those are
    window: np.ndarray  # float32, terms × window papers (index columns), C-contiguous
    _prefix: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, weights: sp.csr_matrix, sides: np.ndarray, index: PaperIndex) -> ColdStart:
        """From the batch's readers × kernel rows Rocchio weights (``index.profile_matrix`` rows)
        and how many liked and disliked rows each reader has (readers × 2)."""
        # few_liked sorts each row and merges a paper both liked and disliked into one entry, in
        # place (scipy's comparisons do), which costs ~1 µs a reader over the whole batch: ask it
        # only of the readers whose counts allow a cold start (merging drops ≤ |disliked| likes)
        maybe = np.flatnonzero((sides[:, 0] >= SHARED) & (sides[:, 0] - sides[:, 1] <= FEW))
        candidates = weights[maybe]
        few = few_liked(candidates)
        cold = np.zeros(weights.shape[0], dtype=bool)
        cold[maybe[few]] = True
        if not few.any():  # (and the window's vectors need not be fitted for them)
            empty = sp.csr_matrix((0, 0), dtype=np.float32)
            return cls(cold, np.zeros(len(cold) + 1, dtype=np.int64), empty, np.zeros(0, dtype=np.int64),
                       np.zeros((0, index.size), dtype=np.float32))
        vectors = profile_vectors(candidates[few], index.profile_matrix, index.profile_presence)
        # the dense window over every term would be vocabulary × papers (80 MB at 40,000 terms):
        # only the terms some cold start uses, renumbered in place so each row keeps its order
        used = np.zeros(vectors.shape[1], dtype=np.int32)
        used[vectors.indices] = 1
        terms = np.flatnonzero(used)
        local = (np.cumsum(used) - 1).astype(np.int32)[vectors.indices]
        vectors = sp.csr_matrix((vectors.data, local, vectors.indptr), shape=(vectors.shape[0], len(terms)))
        window = np.ascontiguousarray(index.vectors.matrix[:, terms].toarray().T, dtype=np.float32)
        before = np.concatenate([[0], np.cumsum(cold, dtype=np.int64)])
        return cls(cold, before, vectors, terms, window)

    def similarity(self, start: int, end: int, m: int) -> tuple[np.ndarray, np.ndarray] | None:
        """For readers start..end-1: the cold starts among them (rows counted from start) and their
        similarity to the first ``m`` window papers (dense float32); None when there are none."""
        first, last = int(self.before[start]), int(self.before[end])
        if first == last:
            return None
        ptr = self.vectors.indptr[first : last + 1]
        rows = sp.csr_matrix(
            (self.vectors.data[ptr[0] : ptr[-1]], self.vectors.indices[ptr[0] : ptr[-1]], ptr - ptr[0]),
            shape=(last - first, len(self.terms)),
        )
        return np.flatnonzero(self.readers[start:end]), np.asarray(rows @ self._window(m))

    def _window(self, m: int) -> np.ndarray:
        """The first ``m`` papers' columns, contiguous (scipy would copy a strided view per chunk)."""
        found = self._prefix.get(m)
        if found is None:
            found = self._prefix[m] = np.ascontiguousarray(self.window[:, :m])
        return found


__all__ = ["ColdStart"]
