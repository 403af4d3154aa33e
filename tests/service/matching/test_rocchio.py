"""The cold-start profile: Rocchio over the terms a reader's papers share."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from service.matching.rocchio import FEW, SHARED, few_liked, profile_similarity
from service.matching.vectors import PaperVectors, count_terms

LIKED = [("Robot grasping with tactile skins", "Robot hands grasp fragile fruit."),
         ("Robot navigation in crowds", "Robot policies walk among people.")]
WINDOW = [("Tactile skins for fruit", "Fragile fruit sensed by tactile skins."),  # one liked paper's own words
          ("A robot that cooks", "A robot in a kitchen."),  # the words both liked papers share
          ("Protein folding", "Proteins fold.")]


def vectors() -> tuple[PaperVectors, sp.csr_matrix, sp.csr_matrix]:
    vectors = PaperVectors([count_terms(*p) for p in WINDOW])
    return vectors, vectors.weigh([count_terms(*p) for p in LIKED]), vectors.matrix


def weights(rows: list[list[float]]) -> sp.csr_matrix:
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


def test_only_the_terms_two_liked_papers_share_count() -> None:
    _, liked, window = vectors()
    [shared] = profile_similarity(weights([[0.5, 0.5]]), liked, window)
    plain = np.asarray(weights([[0.5, 0.5]]) @ (liked @ window.T).toarray())[0]
    assert plain[0] > 0 and shared[0] == 0  # "tactile skins", "fruit": one paper's own words
    assert shared[1] > 0 and shared[1] == np.float32(shared.max())  # "robot", in both
    assert shared[2] == 0


def test_one_liked_paper_keeps_all_its_terms_and_a_dislike_subtracts() -> None:
    _, liked, window = vectors()
    [alone] = profile_similarity(weights([[1.0, 0.0]]), liked, window)
    assert np.allclose(alone, (liked[0] @ window.T).toarray()[0], atol=1e-6)
    [mixed] = profile_similarity(weights([[1.0, -0.5]]), liked, window)
    assert np.allclose(mixed, (liked[0] @ window.T).toarray()[0] - 0.5 * (liked[1] @ window.T).toarray()[0], atol=1e-6)


def test_it_agrees_with_the_definition_on_random_profiles() -> None:
    rng = np.random.default_rng(3)
    papers = sp.random(30, 200, density=0.08, random_state=4, format="csr", dtype=np.float32)
    window = sp.random(40, 200, density=0.1, random_state=5, format="csr", dtype=np.float32)
    rows = np.zeros((6, 30), dtype=np.float32)
    for r in range(6):
        up, down = rng.choice(30, size=5, replace=False)[:3], rng.choice(30, size=2, replace=False)
        down = [d for d in down if d not in up]
        rows[r, up] = 1 / len(up)
        rows[r, down] = -0.5 / max(len(down), 1)
    got = profile_similarity(sp.csr_matrix(rows), papers, window)
    dense, win = papers.toarray(), window.toarray()
    for r in range(6):
        profile = np.zeros(200)
        for sign in (1, -1):
            side = np.where(rows[r] * sign > 0)[0]
            if len(side):
                vector = (rows[r, side, None] * dense[side]).sum(axis=0)
                vector[(dense[side] > 0).sum(axis=0) < min(SHARED, len(side))] = 0
                profile += vector
        assert np.allclose(got[r], win @ profile, atol=1e-5)


def test_the_shared_terms_are_for_a_cold_start_only() -> None:
    counts = [1, SHARED, FEW, FEW + 1]
    rows = np.zeros((len(counts), FEW + 1), dtype=np.float32)
    for r, n in enumerate(counts):
        rows[r, :n] = 1 / n
    assert few_liked(sp.csr_matrix(rows)).tolist() == [False, True, True, False]
