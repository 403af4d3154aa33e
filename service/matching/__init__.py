"""Matching and ranking: which papers each subscriber gets, in which order, and why.

Pure code: ``PaperIndex.build(papers, now, taxonomy=...)`` once per window, profile papers added
with ``index.add_profile_papers(...)``, then ``match_many(requests, index)``. What a term is lives
in ``terms``, the score formula in ``score``, paper vectors in ``vectors``, the words a reader
sees in ``explain``; ``profiles`` loads votes and seeds from the database.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded on first use, not on import: the index pulls in scikit-learn and SciPy (1.2 s), and the
# package is imported by every command that only needs the term rule (preferences, CSV, the CLI).
_HOMES = {
    "PaperIndex": "service.matching.index",
    "match_many": "service.matching.match",
    **{name: "service.matching.records" for name in (
        "IndexedPaper", "Liked", "Match", "MatchRequest", "Profile", "ProfilePaper", "Reasons", "TermHit",
        "TopicReason",
    )},
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'service.matching' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = sorted(_HOMES)
