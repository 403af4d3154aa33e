"""Cold-start profiles made once per batch give exactly the similarities rocchio.py defines."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from service.matching import MatchRequest, PaperIndex, Profile, ProfilePaper, match_many
from service.matching.profile_vectors import ColdStart
from service.matching.rocchio import FEW, SHARED, few_liked, profile_similarity
from tests.service.matching.factories import DAY_AGO, NOW, WEEK_AGO, paper, request

SUBJECTS = [
    ("Robot grasping", "A robot arm grasps objects with tactile sensors and a gripper policy."),
    ("Speech synthesis", "We synthesise speech waveforms with a neural vocoder and prosody control."),
    ("Image diffusion", "A diffusion model generates images from text prompts with guidance."),
    ("Protein folding", "We predict protein structures from amino acid sequences with attention."),
    ("Traffic forecasting", "Graph networks forecast road traffic from sensor time series."),
    ("Weather models", "Global weather forecasting with learned atmospheric dynamics and sensors."),
]
# two days of window papers (a reader since yesterday sees a prefix of the columns)
PAPERS = [paper(10 * j + i + 1, f"{t} {j}", f"{a} Variant {j}.", upvotes=i, age_hours=6 + 30 * (j % 2))
          for j in range(4) for i, (t, a) in enumerate(SUBJECTS)]
POOL = [ProfilePaper(1000 + 10 * j + i, f"{t}, revisited {j}", f"{a} Study {j} of robot speech diffusion.")
        for j in range(3) for i, (t, a) in enumerate(SUBJECTS)]


def index() -> PaperIndex:
    built = PaperIndex.build(PAPERS, now=NOW)
    built.add_profile_papers(POOL)
    return built


def random_weights(rng: np.random.Generator, readers: int, papers: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rocchio weights as match.py lays them out (liked rows first, each side in no order), one
    reader liking and disliking the same paper; and the readers' (liked, disliked) row counts."""
    cols: list[int] = []
    data: list[float] = []
    sides = []
    for r in range(readers):
        liked = rng.choice(papers, size=int(rng.integers(0, FEW + 3)), replace=False)
        disliked = rng.choice(papers, size=int(rng.integers(0, 3)), replace=False)
        if r == 0 and len(liked):
            disliked = np.append(disliked, liked[0])
        for side, weight in ((liked, 1.0), (disliked, -0.5)):
            cols += side.tolist()
            data += [weight / max(len(side), 1)] * len(side)
        sides.append((len(liked), len(disliked)))
    counts = np.array(sides, dtype=np.int64).reshape(readers, 2)
    ptr = np.concatenate([[0], np.cumsum(counts.sum(axis=1))])
    weights = sp.csr_matrix((np.array(data, dtype=np.float32), np.array(cols, dtype=np.int32), ptr), shape=(readers, papers))
    return weights, counts


def test_cold_starts_are_the_readers_rocchio_calls_few() -> None:
    built = index()
    weights, sides = random_weights(np.random.default_rng(3), 60, len(POOL))
    got = ColdStart.of(weights.copy(), sides, built).readers
    assert got.tolist() == few_liked(weights.copy()).tolist()
    assert got.any() and not got.all()
    liked = sides[:, 0]
    assert not got[(liked < SHARED) | (liked - sides[:, 1] > FEW)].any()


def test_a_chunks_similarities_are_the_per_chunk_computation_bit_for_bit() -> None:
    """What match.py computed per chunk of readers before: rocchio.profile_similarity of the
    chunk's cold starts against the chunk's window (the rows sorted by few_liked, as then)."""
    built = index()
    weights, sides = random_weights(np.random.default_rng(5), 50, len(POOL))
    cold = ColdStart.of(weights.copy(), sides, built)
    for start, end in ((0, 50), (0, 17), (17, 40), (40, 50)):
        for m in (built.window(DAY_AGO), built.size):
            chunk = weights[start:end].copy()
            few = few_liked(chunk)
            found = cold.similarity(start, end, m)
            if not few.any():
                assert found is None
                continue
            assert found is not None
            rows, similarity = found
            expected = profile_similarity(chunk[few], built.profile_matrix, built.vectors.matrix[:m])
            assert rows.tolist() == np.flatnonzero(few).tolist()
            assert np.array_equal(similarity, expected)


def test_a_reader_gets_the_same_matches_alone_as_in_any_batch() -> None:
    built = index()
    rng = random.Random(11)
    pool = [p.id for p in POOL]
    requests = []
    for r in range(40):
        chosen = rng.sample(pool, rng.randint(0, 12))
        cut = rng.randint(0, len(chosen))
        profile = Profile(liked=tuple(chosen[:cut]), disliked=tuple(chosen[cut:]))
        prefs = request(keywords=("robot",) if r % 3 else (), topics=()).preferences
        requests.append(MatchRequest(prefs, DAY_AGO if r % 2 else WEEK_AGO, profile=profile))
    assert sum(SHARED <= len(r.profile.positive) <= FEW for r in requests) >= 5  # cold starts among them
    alone = [match_many([r], built)[0] for r in requests]
    assert any(m.parts["profile"] != 0 for ranked in alone for m in ranked)
    assert match_many(requests, built) == alone
    shuffled = list(range(len(requests)))
    rng.shuffle(shuffled)
    assert match_many([requests[i] for i in shuffled], built) == [alone[i] for i in shuffled]


def test_a_window_paper_named_by_a_profile_keeps_its_arxiv_categories_in_its_kernel_row() -> None:
    papers = [replace(paper(i, f"Paper {i} about robots", "We study robot grasping."), categories=(cat,))
              for i, cat in ((1, "cs.RO"), (2, "cs.CL"))]
    built = PaperIndex.build(papers, now=NOW)
    built.add_profile_papers(papers[:1])  # no stored counts: worked out from the text and categories
    row = built.kernel[built.profile_row[1]]
    columns = built.column
    # the same paper is itself (unit vectors), and the same words under another category are less alike
    assert abs(row[columns[1]] - 1.0) < 1e-5 and row[columns[2]] < 0.9
