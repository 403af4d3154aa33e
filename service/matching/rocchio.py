"""The learned profile's raw similarity: Rocchio over the terms a reader's papers share.

For each reader, each side of their profile (the liked and seed papers; the disliked ones) is
the mean of its papers' TF-IDF vectors, keeping only the terms that at least ``SHARED`` of that
side's papers have (every term while the side has fewer papers). The profile is the liked side
minus ``score.DISLIKE_WEIGHT`` times the disliked side; a window paper's raw similarity is its
dot product with that vector (cosine-like: the paper vectors are unit length).

Why the shared terms: a paper's vector carries its idiosyncratic words (a dataset, a method's
name) that say nothing of what the reader wants; the words and categories two liked papers have
in common do. On bench/relevance.py, restricting to them took learned-from-5-seeds precision@10
from 0.365 to 0.398 over 20 days (0.404 → 0.446 on day 1) and rules + learned from 1.30× to 1.31×
rules-only over days 6–20; the plain mean of cosines is what ``SHARED = 1`` gives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SHARED = 2
# Up to this many liked and seed papers (a cold start: five seeds, a first week of votes) a
# reader's profile is taken over their shared terms; with
# more, the mean itself drowns any one paper's own words, and the term-space products cost ~6×
# the kernel's (bench/match.py: 125 µs a reader instead of 20).
FEW = 8


def few_liked(weights: sp.csr_matrix) -> np.ndarray:
    """Which readers (rows of Rocchio weights) have 2..FEW liked or seed papers."""
    liked = np.asarray((weights > 0).sum(axis=1)).ravel()
    return (liked >= SHARED) & (liked <= FEW)


def presence(papers: sp.csr_matrix) -> sp.csr_matrix:
    """PAPERS with every stored weight 1: which terms each paper has."""
    present = papers.copy()
    present.data[:] = 1
    return present


def profile_similarity(weights: sp.csr_matrix, papers: sp.csr_matrix, window: sp.csr_matrix,
                       present: sp.csr_matrix | None = None) -> np.ndarray:
    """Readers × window papers (dense float32).

    ``weights``: readers × profile papers, the Rocchio weight of each (positive: liked or seed,
    1/|side|; negative: disliked, −DISLIKE_WEIGHT/|side|); ``papers``: profile papers × terms;
    ``window``: window papers × terms, both unit-length TF-IDF rows of one vocabulary.
    """
    present = papers.copy()
    present.data[:] = 1
    profile: sp.csr_matrix | None = None
    for sign in (1, -1):
        side = weights.multiply(weights * sign > 0).tocsr()
        if not side.nnz:
            continue
        members = side.copy()
        members.data[:] = 1
        count = np.asarray(members.sum(axis=1), dtype=np.float32).ravel()
        shared = (members @ present).tocsr()  # per reader and term: how many of the side's papers have it
        need = np.minimum(np.float32(SHARED), np.maximum(count, 1))
        shared.data = (shared.data >= np.repeat(need, np.diff(shared.indptr))).astype(np.float32)
        shared.eliminate_zeros()
        vector = (side @ papers).multiply(shared).tocsr()
        profile = vector if profile is None else profile + vector
    if profile is None:
        return np.zeros((weights.shape[0], window.shape[0]), dtype=np.float32)
    return np.asarray((profile @ window.T).toarray(), dtype=np.float32)
