"""Matching and ranking: which papers each subscriber gets, in which order, and why.

Pure code: ``PaperIndex.build(papers, now)`` once per planning window, then
``match_many(requests, index)``. Text rules live in ``text``, the score formula in ``rank``.
"""

from __future__ import annotations

from service.matching.index import PaperIndex
from service.matching.match import match_many
from service.matching.records import IndexedPaper, Match, MatchRequest, Reasons, TermHit

__all__ = ["IndexedPaper", "Match", "MatchRequest", "PaperIndex", "Reasons", "TermHit", "match_many"]
