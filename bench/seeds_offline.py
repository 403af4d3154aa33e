"""Seeds-only cold start, offline: ``python bench/seeds_offline.py [--starts 10] [--draws 3] [--variant NAME]...``.

bench/relevance.py measures a seeds-only reader (no settings, five seed papers) through the
whole engine, a database and the CLI: 1-2 minutes for one day. Such a reader's day-1 digest is
the day's papers ordered by their profile similarity alone (no rule, no upvotes, every paper as
fresh as the others), so this script computes that order directly from the corpus: the same
readers (bench/relevance.py's table and interests), the same seed picking, the same term counts,
TF-IDF and cold-start profile (``service.matching.rocchio``), in seconds for all readers on
many days. Variants of the profile are compared on the same readers and seeds.

Printed per variant: precision@10 on day 1 of bench/relevance.py's own run (its 24 readers, its
seeds: what its target reads), then over all 36 readers, ``--starts`` first days a week apart
and ``--draws`` seed draws each: the figure to choose by, since it is not the bench's one day.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import relevance as bench  # noqa: E402  (bench/relevance.py: the readers, seeds and corpus)

from service.matching import rocchio, score  # noqa: E402
from service.matching.vectors import PRIMARY_REPEAT, PaperVectors, count_terms  # noqa: E402


@dataclass(frozen=True)
class Day:
    """One first day as the engine sees it at 08:00: its index and the history before it.

    With bench/relevance.py's 1-day lookback the index holds the papers announced since the day
    before, and a reader who joined the day before at 08:00 has that whole day in their window
    too (a window starts at the start of a day): so the candidates are the day's papers, then
    the day before's, each in the engine's column order (newest day first, then by paper id,
    i.e. ingest order).
    """

    ids: list[str]
    counts: list[dict[str, int]]
    boost: np.ndarray  # recency: the day's papers +0.25, the day before's +0.125
    tie: np.ndarray  # the tie-break rank (paper id: the day before's papers were stored first)
    history_ids: list[str]
    history_counts: dict[str, dict[str, int]]


# A variant: (the day, its window vectors, the seeds' counts) → the score of each candidate
Variant = Callable[[Day, PaperVectors, Sequence[dict[str, int]]], np.ndarray]


def engine(day: Day, vectors: PaperVectors, seeds: Sequence[dict[str, int]]) -> np.ndarray:
    """What the engine does: rocchio.profile_similarity with equal seed weights, less_typical."""
    rows = vectors.weigh(list(seeds))
    weights = sp.csr_matrix(np.full((1, len(seeds)), 1 / len(seeds), dtype=np.float32))
    similarity = rocchio.profile_similarity(weights, rows, vectors.matrix)
    rocchio.less_typical(similarity, vectors.typical, np.array([True]))
    return similarity[0]


def weighted(share: Callable[[np.ndarray], np.ndarray], fit: str = "window") -> Variant:
    """The mean of the seeds' vectors, each term times share(fraction of seeds having it);
    the idf fitted on FIT: the window, window+seeds, or window+history."""

    def variant(day: Day, vectors: PaperVectors, seeds: Sequence[dict[str, int]]) -> np.ndarray:
        if fit != "window":
            extra = list(seeds) if fit == "seeds" else list(day.history_counts.values())
            vectors = PaperVectors(list(day.counts) + extra)
        rows = vectors.weigh(list(seeds)).toarray()
        fraction = (rows > 0).mean(axis=0)
        profile = rows.mean(axis=0) * share(fraction)
        return np.asarray(vectors.matrix[: len(day.ids)] @ profile).ravel().astype(np.float32)

    return variant


def shared_at_least(k: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda f: (f * 5 >= k - 1e-6).astype(np.float64)


def primary_of(counts: dict[str, int]) -> str | None:
    return next((t for t, c in counts.items() if t.startswith("[") and c == PRIMARY_REPEAT), None)


def with_category(base: Variant, points: float, need: int = 3) -> Variant:
    """BASE, standardised as the engine does, plus POINTS for papers whose primary category is
    the one at least NEED of the seeds share (returned in profile points: the caller's
    standardisation of an already standardised row changes little, see precision())."""

    def variant(day: Day, vectors: PaperVectors, seeds: Sequence[dict[str, int]]) -> np.ndarray:
        sims = base(day, vectors, seeds)
        z = (sims - sims.mean()) / max(float(sims.std()), 1e-6)
        primaries = Counter(p for p in map(primary_of, seeds) if p)
        top = primaries.most_common(1)
        if top and top[0][1] >= need:
            z = z + points * np.array([primary_of(c) == top[0][0] for c in day.counts], dtype=np.float32)
        return z.astype(np.float32)

    return variant


def feedback(base: Variant, top: int, beta: float, share: Callable[[np.ndarray], np.ndarray]) -> Variant:
    """Pseudo-relevance feedback: BASE's TOP window papers taken as BETA more seeds."""

    def variant(day: Day, vectors: PaperVectors, seeds: Sequence[dict[str, int]]) -> np.ndarray:
        first = base(day, vectors, seeds)
        best = np.argsort(-first, kind="stable")[:top]
        rows = vectors.weigh(list(seeds)).toarray()
        profile = rows.mean(axis=0) * share((rows > 0).mean(axis=0))
        more = vectors.matrix[best].toarray()
        profile = profile + beta * more.mean(axis=0) * share((more > 0).mean(axis=0))
        return np.asarray(vectors.matrix[: len(day.ids)] @ profile).ravel().astype(np.float32)

    return variant


def minus_window(base: Variant, beta: float) -> Variant:
    """BASE minus BETA × each paper's similarity to the window's mean paper (Rocchio with the
    day's papers as the non-relevant side: what is like everything says little)."""

    def variant(day: Day, vectors: PaperVectors, seeds: Sequence[dict[str, int]]) -> np.ndarray:
        window = vectors.matrix
        centroid = np.asarray(window.mean(axis=0)).ravel()
        generic = np.asarray(window @ centroid).ravel()
        return (base(day, vectors, seeds) - beta * generic).astype(np.float32)

    return variant


SHARE = weighted(lambda f: f)
# Each variant tried (notes/helper-S5-H6.md has the figures); "engine" is the current rule,
# "share - window .5" the same computed here in float64.
VARIANTS: dict[str, Variant] = {
    "engine": engine,
    "plain mean": weighted(lambda f: np.ones_like(f)),
    "shared >= 2 (session 4)": weighted(shared_at_least(2)),
    "shared >= 3": weighted(shared_at_least(3)),
    "blend .25 plain": weighted(lambda f: 0.75 * (f >= 0.4 - 1e-6) + 0.25),
    "share^.5": weighted(lambda f: f**0.5),
    "share": SHARE,
    "share^1.5": weighted(lambda f: f**1.5),
    "share^2": weighted(lambda f: f**2),
    "share, shared >= 2": weighted(lambda f: f * (f >= 0.4 - 1e-6)),
    "shared >= 2, idf +seeds": weighted(shared_at_least(2), "seeds"),
    "shared >= 2, idf +history": weighted(shared_at_least(2), "history"),
    "share + category .5": with_category(SHARE, 0.5),
    "share + category 1": with_category(SHARE, 1.0),
    "share + category 1 (2 seeds)": with_category(SHARE, 1.0, 2),
    "share, feedback 10 × .5": feedback(SHARE, 10, 0.5, lambda f: f),
    "share - window .25": minus_window(SHARE, 0.25),
    "share - window .35": minus_window(SHARE, 0.35),
    "share - window .5": minus_window(SHARE, 0.5),
    "share - window .75": minus_window(SHARE, 0.75),
    "share - window 1": minus_window(SHARE, 1.0),
    "shared >= 2 - window .5": minus_window(weighted(shared_at_least(2)), 0.5),
}
SLOW = {"shared >= 2, idf +seeds", "shared >= 2, idf +history"}  # a fit per reader: minutes


def load_days(corpus: Path, starts: Sequence[date], history: int, seed: int) -> dict[date, Day]:
    first, last = min(starts) - timedelta(days=history), max(starts)
    papers = bench.load_corpus(corpus, first, last)
    by_day: dict[date, list[bench.PaperIn]] = {}
    for p in papers:
        by_day.setdefault(p.day, []).append(p.paper)
    counts = {p.paper.arxiv_id or "": count_terms(p.paper.title, p.paper.abstract, p.paper.categories) for p in papers}
    days: dict[date, Day] = {}
    for start in starts:
        rng = random.Random(seed)  # bench/relevance.py's ingest order: history days, then day 1
        before = [start - timedelta(days=i) for i in range(history, 0, -1)]
        ingested = [bench.shuffled(by_day.get(d, []), rng) for d in before]
        todays = bench.shuffled(by_day.get(start, []), rng)
        yesterday = ingested[-1] if ingested else []
        ids = [p.arxiv_id or "" for p in todays + yesterday]
        boost = np.array([score.FRESH_BOOST] * len(todays) + [score.RECENT_BOOST] * len(yesterday), dtype=np.float32)
        tie = np.concatenate([np.arange(len(todays)) + len(yesterday), np.arange(len(yesterday))])
        hist = [p.arxiv_id or "" for d in before for p in by_day.get(d, [])]
        days[start] = Day(ids, [counts[a] for a in ids], boost, tie, hist, {a: counts[a] for a in hist})
    return days


def relevant_sets(corpus: Path, first: date, last: date) -> dict[str, set[str]]:
    papers = bench.load_corpus(corpus, first, last)
    return {r.name: {p.paper.arxiv_id or "" for p in papers
                     if r.interest.holds(p.paper.primary_category, p.paper.title, p.paper.abstract)} for r in bench.READERS}


RAW = False
_fitted: dict[int, PaperVectors] = {}


def _vectors(day: Day) -> PaperVectors:
    found = _fitted.get(id(day))
    if found is None:
        found = _fitted[id(day)] = PaperVectors(day.counts)
    return found


def precision(day: Day, variant: Variant, reader: bench.Reader, relevant: set[str], seed_key: str) -> float | None:
    seeds = bench.pick_seeds(day.history_ids, relevant, random.Random(seed_key), bench.SEEDS_PER_READER)
    if not seeds:
        return None
    vectors = _vectors(day)
    sims = variant(day, vectors, [day.history_counts[s] for s in seeds])
    own = np.array([i for i, a in enumerate(day.ids) if a in seeds], dtype=np.int64)
    # the engine's order: profile part (standardised without the seeds, clipped, on its grid) +
    # recency, then the tie-break rank; the seeds themselves never offered
    total = score.profile_points(sims[None, :], np.zeros(len(own), dtype=np.int64), own)[0] + day.boost
    if RAW:
        total = sims.astype(np.float64) * 1000 + day.boost
    total[own] = -np.inf
    order = sorted(range(len(day.ids)), key=lambda i: (-float(total[i]), int(day.tie[i])))[: bench.K]
    return sum(day.ids[i] in relevant for i in order) / bench.K


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 10, 7))
    parser.add_argument("--starts", type=int, default=10, help="first days, a week apart from --start")
    parser.add_argument("--draws", type=int, default=3, help="seed draws per reader and first day")
    parser.add_argument("--history", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=bench.CORPUS)
    parser.add_argument("--variant", action="append", help=f"of {', '.join(VARIANTS)} (default: all but the slow)")
    parser.add_argument("--raw", action="store_true", help="rank by raw similarity (no clipping)")
    args = parser.parse_args(argv)
    global RAW
    RAW = args.raw
    corpus = bench.corpus_or_exit(args.corpus)
    # a week apart from --start, up to 4 weeks earlier (the corpus runs 2024-09-01 to 2024-12-31)
    starts = sorted({args.start + timedelta(weeks=w) for w in range(-min(4, args.starts // 2), args.starts - min(4, args.starts // 2))})
    started = time.perf_counter()
    days = load_days(corpus, starts, args.history, args.seed)
    relevant = relevant_sets(corpus, min(starts) - timedelta(days=args.history), max(starts))
    print(f"loaded {len(starts)} first days ({starts[0]}–{starts[-1]}) in {time.perf_counter() - started:.0f} s")
    readers24 = bench.spread(bench.READERS, bench.DEFAULT_READERS)
    print(f"{'variant':28} {'bench day 1 (24)':>17} {'36 readers × days × draws':>26}")
    for name in args.variant or [v for v in VARIANTS if v not in SLOW]:
        variant = VARIANTS[name]
        t = time.perf_counter()
        own = [precision(days[args.start], variant, r, relevant[r.name], f"{args.seed}:{r.name}") for r in readers24]
        wide = [precision(days[s], variant, r, relevant[r.name], f"{args.seed + d}:{r.name}")
                for s in starts for d in range(args.draws) for r in bench.READERS]
        kept = [v for v in wide if v is not None]
        print(f"{name:28} {bench.mean(own):8.3f} ({sum(v or 0 for v in own) * bench.K:3.0f}) "
              f"{bench.mean(kept):17.4f} (n={len(kept)}) {time.perf_counter() - t:5.1f} s")


if __name__ == "__main__":
    main()
