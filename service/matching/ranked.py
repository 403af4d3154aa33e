"""``Ranked``: one reader's matches as ``match_many`` returns them, and the ``Explainer`` behind them.

A batch ranks thousands of readers, and most callers read only a few of the results (planning
asks whether a digest is empty; the digest being rendered reads its own papers). So a ``Ranked``
is a row of its chunk's ``Picks`` (numpy arrays shared by the chunk's readers) and makes its
``Match`` objects the first time one is read; each match works its reasons and parts out on
first access in turn. Making a ``Match`` per pick up front cost as much as scoring
(notes/helper-H6.md: 3.4 µs per reader against 0.2 for a ``Ranked``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from service.matching import score
from service.matching.index import term_of
from service.matching.records import Liked, Match, MatchRequest, Reasons, SeedKind, TermHit
from service.matching.terms import normalise_author

if TYPE_CHECKING:
    from service.matching.index import PaperIndex

_new = object.__new__


@dataclass(frozen=True, slots=True)
class Picks:
    """One chunk's picks: per reader (row), the picked columns best first, their scores and
    their profile parts, as readers × k arrays (a reader's first ``count`` entries count)."""

    cols: np.ndarray  # int64
    scores: np.ndarray  # float32
    profile: np.ndarray | None  # float32; None when no reader of the chunk has a profile


class Ranked(Sequence[Match]):
    """A reader's matches, best first: a read-only sequence of ``Match``.

    Equal to a list of the same matches (and to another ``Ranked``); pickles as a plain list of
    ``Match``, so nothing drags the index along.
    """

    __slots__ = ("_count", "_fixed", "_index", "_made", "_picks", "_request", "_row")

    def __init__(
        self, index: PaperIndex, request: MatchRequest, picks: Picks, row: int, count: int, fixed: Reasons | None
    ) -> None:
        self._index = index
        self._request = request
        self._picks = picks
        self._row = row  # the reader's row in picks
        self._count = count  # how many matches
        self._fixed = fixed  # the reasons of every match when they are not worked out (with_reasons=False)
        self._made: list[Match] | None = None

    def _matches(self) -> list[Match]:
        made = self._made
        if made is None:
            made = self._made = []
            if self._count:
                picks, row, count = self._picks, self._row, self._count
                cols: list[int] = picks.cols[row, :count].tolist()
                scores: list[float] = picks.scores[row, :count].tolist()
                profile: list[float] = picks.profile[row, :count].tolist() if picks.profile is not None else []
                explainer = Explainer(self._index, self._request, cols, profile)
                ids, fixed = self._index.ids, self._fixed
                for col, value in zip(cols, scores, strict=True):
                    # Match's lazy form (records.Match): reasons and parts worked out when read
                    match = _new(Match)
                    match._paper_id = ids[col]
                    match._score = value
                    match._reasons = fixed
                    match._parts = None
                    match._explainer = explainer
                    match._pos = col
                    made.append(match)
        return made

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, at: int) -> Match: ...

    @overload
    def __getitem__(self, at: slice) -> list[Match]: ...

    def __getitem__(self, at: int | slice) -> Match | list[Match]:
        return self._matches()[at]

    def __iter__(self) -> Iterator[Match]:
        return iter(self._matches())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ranked):
            return self._matches() == other._matches()
        if isinstance(other, list):
            return self._matches() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list

    def __repr__(self) -> str:
        return repr(self._matches())

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Match]]]:
        return (list, (self._matches(),))


class Explainer:
    """The reasons and score parts of one reader's matches, worked out paper by paper when asked."""

    __slots__ = ("_keys", "cols", "index", "profile", "request")

    def __init__(self, index: PaperIndex, request: MatchRequest, cols: list[int], profile: list[float]) -> None:
        self.index = index
        self.request = request
        self.cols = cols
        self.profile = profile
        self._keys: list[tuple[str, str]] | None = None

    def keys(self) -> list[tuple[str, str]]:
        """(keyword as written, its term key) for each of the reader's keywords."""
        keys = self._keys
        if keys is None:
            keys = self._keys = [(raw, t.key) for raw in self.request.preferences.keywords if (t := term_of(raw))]
        return keys

    def _profile_at(self, pos: int) -> float:
        return self.profile[self.cols.index(pos)] if self.profile and pos in self.cols else 0.0

    def explain(self, pos: int) -> Reasons:
        index, prefs = self.index, self.request.preferences
        if not prefs.has_filters:
            return Reasons(trending=True, like=self._like(pos))
        terms: tuple[TermHit, ...] = ()
        for raw, key in self.keys():
            terms += index.term_hits(raw, key, pos)
        names: tuple[str, ...] = ()
        for name in prefs.authors:
            names += index.authors_of(pos, normalise_author(name))
        slugs = tuple(sorted(set(prefs.topics) & index.papers[pos].topics))
        evidence = index.evidence(pos) if slugs else {}
        return Reasons(
            terms=terms,
            topics=slugs,
            authors=names,
            evidence=tuple(evidence[s] for s in slugs if s in evidence),
            like=self._like(pos),
        )

    def _like(self, pos: int) -> Liked | None:
        """The liked or seed paper closest to this one, when the profile visibly counts."""
        profile = self.request.profile
        if profile.empty or self._profile_at(pos) < 1:
            return None
        index = self.index
        ids = [i for i in profile.positive if i in index.profile_row]
        if not ids:
            return None
        closest = ids[int(np.argmax(index.kernel[[index.profile_row[i] for i in ids], pos]))]
        kind: SeedKind = "liked" if closest in profile.liked else "seed"
        return Liked(closest, index.profile_titles.get(closest, ""), kind)

    def parts(self, pos: int) -> tuple[float, ...]:
        """The score's parts in the order of ``score.PARTS``."""
        index, prefs = self.index, self.request.preferences
        keywords = 0.0
        for _, key in self.keys():
            title, abstract = index.keyword_hits[key].spans.get(pos, ((), ()))
            keywords += score.keyword_points(bool(title), bool(abstract))
        paper = index.papers[pos]
        followed = {normalise_author(a) for a in paper.authors}
        authors = score.AUTHOR * sum(normalise_author(a) in followed for a in prefs.authors)
        topics = score.topic_points(len(set(prefs.topics) & paper.topics))
        upvotes, recency = float(index.upvote_boost[pos]), float(index.recency_boost[pos])
        return (keywords, authors, self._profile_at(pos), topics, upvotes, recency)


__all__ = ["Explainer", "Picks", "Ranked"]
