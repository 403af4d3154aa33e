"""The learned profile's raw similarity: Rocchio with each term weighted by how many papers share it.

For each reader, each side of their profile (the liked and seed papers; the disliked ones) is
the mean of its papers' TF-IDF vectors, each term of it multiplied by the share of that side's
papers that have the term (a term all five seeds have counts in full, one only one of them has
a fifth). The profile is the liked side minus ``score.DISLIKE_WEIGHT`` times the disliked side;
a window paper's raw similarity is its dot product with that vector (cosine-like: the paper
vectors are unit length). With one paper on a side, that is the paper's own vector.

Why the share: a paper's vector carries its idiosyncratic words (a dataset, a method's name)
that say nothing of what the reader wants; the words and categories several liked papers have
in common do. bench/relevance.py, learned from 5 seeds, day-1 precision@10: 0.404 with the plain
mean, 0.446 keeping only the terms at least two papers share (the previous rule), 0.454 with
the share; over 36 readers × 10 first days × 3 seed draws (bench/seeds_offline.py) 0.413, 0.432
and 0.463. Weighting by the share squared measured alike (0.466) and is not simpler.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SHARED = 2  # from this many liked papers the share differs from 1 (with one, the plain mean is the same)
# Up to this many liked and seed papers (a cold start: five seeds, a first week of votes) a
# reader's profile is weighted by the share; with more, the mean itself drowns any one paper's
# own words, and the term-space products cost ~6× the kernel's (bench/match.py: 125 µs a reader
# instead of 20).
FEW = 8
# The window's mean paper is subtracted from a liked profile at this weight, as a disliked side
# is (score.DISLIKE_WEIGHT): see ``less_typical``.
TYPICAL_WEIGHT = 0.5


def few_liked(weights: sp.csr_matrix) -> np.ndarray:
    """Which readers (rows of Rocchio weights) have 2..FEW liked or seed papers."""
    liked = np.asarray((weights > 0).sum(axis=1)).ravel()
    return (liked >= SHARED) & (liked <= FEW)


def presence(papers: sp.csr_matrix) -> sp.csr_matrix:
    """PAPERS with every stored weight 1: which terms each paper has."""
    present = papers.copy()
    present.data[:] = 1
    return present


def profile_vectors(weights: sp.csr_matrix, papers: sp.csr_matrix, present: sp.csr_matrix) -> sp.csr_matrix:
    """Readers × terms: each reader's profile vector, by the rule above.

    ``weights``: readers × profile papers, the Rocchio weight of each (positive: liked or seed,
    1/|side|; negative: disliked, −DISLIKE_WEIGHT/|side|); ``papers``: profile papers × terms,
    unit-length TF-IDF rows; ``present``: ``presence(papers)``.
    """
    profile: sp.csr_matrix | None = None
    for sign in (1, -1):
        side = weights.multiply(weights * sign > 0).tocsr()
        if not side.nnz:
            continue
        members = side.copy()
        members.data[:] = 1
        count = np.asarray(members.sum(axis=1), dtype=np.float32).ravel()
        share = (members @ present).tocsr()  # per reader and term: how many of the side's papers have it
        share.data /= np.repeat(np.maximum(count, 1), np.diff(share.indptr))
        vector = (side @ papers).multiply(share).tocsr()
        profile = vector if profile is None else profile + vector
    if profile is None:
        return sp.csr_matrix((weights.shape[0], papers.shape[1]), dtype=np.float32)
    return profile


def profile_similarity(weights: sp.csr_matrix, papers: sp.csr_matrix, window: sp.csr_matrix) -> np.ndarray:
    """Readers × window papers (dense float32): ``profile_vectors`` @ WINDOW (window papers ×
    terms, unit-length TF-IDF rows of the profile papers' vocabulary). The reference the tests and
    bench/seeds_offline.py score by; the matcher computes the same product per chunk from vectors
    made once per batch (``profile_vectors.ColdStart``)."""
    vectors = profile_vectors(weights, papers, presence(papers))
    return np.asarray((vectors @ window.T).toarray(), dtype=np.float32)


def typical(window: sp.csr_matrix) -> np.ndarray:
    """Each window paper's dot product with the window's mean paper (float32): how much it is
    like everything else there. Kept with the window's vectors (``PaperVectors.typical``)."""
    mean = np.asarray(window.mean(axis=0), dtype=np.float32).ravel()
    return np.asarray(window @ mean, dtype=np.float32).ravel()


def less_typical(similarity: np.ndarray, typical: np.ndarray, liked: np.ndarray) -> None:
    """Subtract, in place, ``TYPICAL_WEIGHT`` × TYPICAL (``typical`` of the window) from the rows of ``similarity``
    (readers × the window's first papers) whose reader has a liked or seed paper.

    Rocchio with the window's papers as a weak non-relevant side: a paper like every paper of the
    day (a survey of LLM agents, in a window of LLM papers) is less telling of a reader's liking
    than one like their seeds and little else. bench/seeds_offline.py, 5 seeds, day-1
    precision@10 over 36 readers × 10 first days × 3 draws: 0.463 → 0.474 (0.461 → 0.471 on
    8 later first days); weights 0.25-0.5 measure alike, 0.75 and 1 worse.
    """
    if not liked.any():
        return
    drop = typical[: similarity.shape[1]] * np.float32(TYPICAL_WEIGHT)
    # readers with dislikes only are few: subtract from every row, then put theirs back (exactly)
    others = np.flatnonzero(~liked)
    kept = similarity[others]
    similarity -= drop
    similarity[others] = kept
