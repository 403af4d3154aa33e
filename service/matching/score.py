"""The ranking formula: the one place it is written down (the README copies this docstring).

For one reader and one paper of their window::

    score = said + inferred + boost

    said      what the reader told papermail
              + 5 per keyword in the title, + 3 per keyword in the abstract (in both: 8)
              + 5 per followed author of the paper
              + profile, their 👍/👎 votes and seed papers (below), between -5 and +5
    inferred  what papermail worked out itself
              + 1 per followed topic the paper is in, counted for at most 2 topics
    boost     what the paper has for everyone, never a reason on its own
              + 0.25 at 10 upvotes, + 0.25 more at 100
              + 0.25 when first seen within 24 h of ranking, else + 0.125 within 72 h

    profile   like − 0.5 × dislike − 0.5 × typical, standardised over the reader's window,
              clipped to ±5
              like    = mean cosine similarity of the paper to the papers they liked or seeded
              dislike = mean cosine similarity of the paper to the papers they disliked
              typical = cosine-like similarity of the paper to the window's mean paper (only
                        for readers with a liked or seed paper: what is like every paper of
                        the day tells little of their liking, see ``rocchio.less_typical``)
              (TF-IDF vectors of title + abstract + arXiv categories, see ``vectors.py``; this is
              Rocchio's profile vector: the mean of the liked papers minus half the mean of the
              disliked ones and half the window's mean paper; with 2 to 8 liked papers, each
              term weighted by the share of them that have it, see ``rocchio.py``).
              "Standardised" = minus the mean of the window's other papers (not counting the
              reader's own voted or seed papers), divided by their standard deviation (at least
              0.002): +3 reads "three spreads more like what you liked than the other papers
              today", whatever the number of votes. 0 for a reader with no votes and no seeds.

Which papers are candidates, before any score: those first seen since the reader's last digest,
with at least their minimum upvotes, from their sources; never one they were already sent, voted
on or gave as a seed; never one with an excluded term in its title or abstract (exclusions are
absolute, whatever else matched). Among those:

- a reader with keywords, authors or topics gets the papers that match one of them, or whose
  profile is at least 1 when they have liked or seed papers; and only while said + inferred > 0
  (a paper much like the ones they disliked drops out);
- a reader with none of those gets the trending papers: every candidate, ranked by
  boost + profile (their votes re-rank what is trending).

Order: score, then upvotes (more first), then paper id (smaller first); cut at ``max_papers``.
A term matches as :mod:`service.matching.terms` says; each keyword counts once per field.

Why these numbers: the weakest thing the reader said (a keyword in the abstract, 3) beats the
most papermail can infer plus every boost (2 + 0.5 + 0.25): what the reader said outranks what
papermail inferred, and popularity or freshness only orders papers whose evidence is equal. The
title beats the abstract (5 > 3). A paper three spreads closer to a reader's liked papers than
the window's average weighs like a keyword in the abstract.

Rule points are multiples of 1/8 and the profile is rounded to 1/1024, so every score is an
exact binary fraction: sums do not depend on their order and ties are real ties.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from service.matching.records import PARTS as PARTS  # the parts' names, kept with the records

KEYWORD_TITLE = 5.0
KEYWORD_ABSTRACT = 3.0
AUTHOR = 5.0
TOPIC = 1.0
MAX_TOPICS = 2
PROFILE_LIMIT = 5.0
PROFILE_CANDIDATE = 1.0  # a paper enters on its profile alone from here (2.5 left 48 % of digests short)
DISLIKE_WEIGHT = 0.5
PROFILE_GRID = 1024  # the profile is rounded to 1/1024
SPREAD_FLOOR = 0.002  # cosine units: below this, papers' similarities differ by noise only
UPVOTE_STEPS = ((10, 0.25), (100, 0.25))
FRESH, RECENT = timedelta(hours=24), timedelta(hours=72)
FRESH_BOOST, RECENT_BOOST = 0.25, 0.125


def keyword_points(in_title: bool, in_abstract: bool) -> float:
    return KEYWORD_TITLE * in_title + KEYWORD_ABSTRACT * in_abstract


def topic_points(topics_matched: int) -> float:
    return TOPIC * min(topics_matched, MAX_TOPICS)


def upvote_boost(upvotes: int) -> float:
    return sum(points for at, points in UPVOTE_STEPS if upvotes >= at)


def recency_boost(first_seen_at: datetime, now: datetime) -> float:
    age = now - first_seen_at
    return FRESH_BOOST if age <= FRESH else RECENT_BOOST if age <= RECENT else 0.0


def profile_points(
    similarity: np.ndarray, left_rows: np.ndarray | None = None, left_cols: np.ndarray | None = None
) -> np.ndarray:
    """Rocchio similarities (readers × papers) standardised per row, clipped, on the grid.

    Each paper is measured against the *other* papers of its row (leave-one-out mean and
    spread), not counting the cells ``(left_rows, left_cols)`` either (each reader's own voted
    or seed papers, most like their profile by definition). So one paper much like the liked
    ones stands out even in a window of five, and a spread below ``SPREAD_FLOOR`` (papers all
    alike, or one alone) cannot magnify noise. In float32, in place: this runs on every
    reader × paper.
    """
    sim = np.asarray(similarity, dtype=np.float32)
    if sim.ndim != 2 or sim.shape[1] < 2:
        return np.zeros(sim.shape, dtype=np.float32)
    readers, m = sim.shape
    total = sim.sum(axis=1, dtype=np.float64)
    n = np.full(readers, float(m))
    if left_rows is not None and left_cols is not None and len(left_rows):
        # a reader's voted papers are distinct, so their cells are too
        total -= np.bincount(left_rows, weights=sim[left_rows, left_cols], minlength=readers)
        n -= np.bincount(left_rows, minlength=readers)
    mean = (total / np.maximum(n, 1)).astype(np.float32)[:, None]
    # with d = x - mean over the n counted papers, and D = Σ d² over them, leaving x out gives
    # mean' = mean - d/(n-1), x - mean' = d·n/(n-1), var' = (D - d²·n/(n-1)) / (n-1)
    others = np.maximum(n - 1, 1)[:, None]
    grow = (n[:, None] / others).astype(np.float32)
    d = sim - mean
    spread = d * d
    if left_rows is not None and left_cols is not None and len(left_rows):
        spread[left_rows, left_cols] = 0
    squares = spread.sum(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    spread *= grow
    np.subtract(squares, spread, out=spread)
    spread /= others.astype(np.float32)
    np.maximum(spread, SPREAD_FLOOR**2, out=spread)
    np.sqrt(spread, out=spread)
    d *= grow
    d /= spread
    np.clip(d, -PROFILE_LIMIT, PROFILE_LIMIT, out=d)
    d *= PROFILE_GRID
    np.rint(d, out=d)
    d /= PROFILE_GRID
    return d


def sort_key(score: float, upvotes: int, paper_id: int) -> tuple[float, int, int]:
    """Ascending sort key for the documented order: score desc, upvotes desc, id asc."""
    return (-score, -upvotes, paper_id)
