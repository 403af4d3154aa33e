"""Matching and ranking: which papers each subscriber gets, in which order, and why.

Pure code: ``PaperIndex.build(papers, now, taxonomy=...)`` once per window, profile papers added
with ``index.add_profile_papers(...)``, then ``match_many(requests, index)``. What a term is lives
in ``terms``, the score formula in ``score``, paper vectors in ``vectors``, the words a reader
sees in ``explain``; ``profiles`` loads votes and seeds from the database.
"""

from __future__ import annotations

from service.matching.index import PaperIndex
from service.matching.match import match_many
from service.matching.records import (
    IndexedPaper,
    Liked,
    Match,
    MatchRequest,
    Profile,
    ProfilePaper,
    Reasons,
    TermHit,
    TopicReason,
)

__all__ = [
    "IndexedPaper",
    "Liked",
    "Match",
    "MatchRequest",
    "PaperIndex",
    "Profile",
    "ProfilePaper",
    "Reasons",
    "TermHit",
    "TopicReason",
    "match_many",
]
