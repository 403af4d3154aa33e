"""The ranking formula, in one place for the fast path and the reference matcher.

    score = relevance + trending + recency

    relevance = Σ over distinct matched keywords   phrase × (2·[in title] + 1·[in abstract])
              + 1 per matched topic
              + 3 per followed author on the paper
        phrase = 1.5 for a keyword of several words ("mixture of experts"), else 1
    trending  = 0.5 × round(ln(1 + upvotes))          (damped: +0.5 per e-fold of upvotes)
    recency   = 1 if first seen within 24 h of the index time, 0.5 within 72 h, else 0

Ties are broken by upvotes (more first), then by paper id (smaller first); the list is cut
at ``max_papers``. A subscriber with no topics, keywords or authors gets the papers with the
best ``trending + recency``, flagged as trending.

Every term is a multiple of 0.5, so scores are computed exactly as integers in half points
(``*_half`` below) and reported as ``half / 2``: the order never depends on float rounding, and
the fast path can add scores as small integers.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

TOPIC_HALF = 2
AUTHOR_HALF = 6
# (single word, phrase) × field; a keyword in both fields scores title + abstract
TITLE_HALF = (4, 6)
ABSTRACT_HALF = (2, 3)
KEYWORD_MAX_HALF = TITLE_HALF[1] + ABSTRACT_HALF[1]
FRESH, RECENT = timedelta(hours=24), timedelta(hours=72)


def keyword_half(is_phrase: bool, in_title: bool, in_abstract: bool) -> int:
    return TITLE_HALF[is_phrase] * in_title + ABSTRACT_HALF[is_phrase] * in_abstract


def trending_half(upvotes: int) -> int:
    return round(math.log1p(max(upvotes, 0)))


def recency_half(first_seen_at: datetime, now: datetime) -> int:
    age = now - first_seen_at
    return 2 if age <= FRESH else 1 if age <= RECENT else 0


def boost_half(upvotes: int, first_seen_at: datetime, now: datetime) -> int:
    """A paper's own part of the score (trending + recency), the same for every subscriber."""
    return trending_half(upvotes) + recency_half(first_seen_at, now)


def sort_key(score_half: int, upvotes: int, paper_id: int) -> tuple[int, int, int]:
    """Ascending sort key for the documented order: score desc, upvotes desc, id asc."""
    return (-score_half, -upvotes, paper_id)
