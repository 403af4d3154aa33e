"""The records matching reads and returns: papers in, requests in, ranked matches out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # service.subscribers.preferences imports matching.text: avoid the import cycle
    from service.subscribers.preferences import Preferences

Field = Literal["title", "abstract"]


@dataclass(frozen=True, slots=True)
class IndexedPaper:
    """One paper of the planning window, as the matcher needs it (built from the papers table)."""

    id: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    topics: frozenset[str]
    upvotes: int
    first_seen_at: datetime  # timezone-aware
    sources: frozenset[str]

    def __post_init__(self) -> None:
        if self.first_seen_at.utcoffset() is None:
            raise ValueError(f"paper {self.id}: first_seen_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """One subscriber's question: their preferences, the window start, what they already got."""

    preferences: Preferences
    since: datetime  # papers first seen at or after this instant (timezone-aware)
    already_sent: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class TermHit:
    """A keyword found in one field, with the character spans of each occurrence.

    Spans index the paper's original title/abstract string: ``title[start:end]``.
    """

    term: str  # the keyword as the subscriber wrote it
    field: Field
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Reasons:
    """Why a paper is in a digest: every one of these is shown to the reader."""

    terms: tuple[TermHit, ...] = ()  # keyword order, title before abstract
    topics: tuple[str, ...] = ()  # sorted slugs
    authors: tuple[str, ...] = ()  # the paper's spelling, in the order the subscriber follows them
    trending: bool = False  # picked as a top trending paper (subscriber has no filters)


class Explainer(Protocol):
    def explain(self, pos: int) -> Reasons: ...


class Match:
    """One paper picked for a subscriber: its id, its score (points), and why.

    Read-only like the other records (``Match(paper_id, score, reasons)``; equal when all three
    are). A match from :func:`~service.matching.match.match_many` works its ``reasons`` out on
    first access and keeps them: planning reads only ids and scores, and the digest being
    rendered reads the reasons of its own papers. Such a match keeps its index alive until then.
    """

    __slots__ = ("_explainer", "_paper_id", "_pos", "_reasons", "_score")
    _paper_id: int
    _score: float
    _reasons: Reasons | None  # None until a lazy match is asked
    _explainer: Explainer
    _pos: int

    def __init__(self, paper_id: int, score: float, reasons: Reasons) -> None:
        self._paper_id = paper_id
        self._score = score
        self._reasons = reasons

    @property
    def paper_id(self) -> int:
        return self._paper_id

    @property
    def score(self) -> float:
        return self._score

    @property
    def reasons(self) -> Reasons:
        reasons = self._reasons
        if reasons is None:  # a lazy match, asked for the first time
            reasons = self._reasons = self._explainer.explain(self._pos)
        return reasons

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return self._paper_id == other._paper_id and self._score == other._score and self.reasons == other.reasons

    def __hash__(self) -> int:
        return hash((self._paper_id, self._score, self.reasons))

    def __repr__(self) -> str:
        return f"Match(paper_id={self._paper_id!r}, score={self._score!r}, reasons={self.reasons!r})"

    def __reduce__(self) -> tuple[type[Match], tuple[int, float, Reasons]]:
        return (Match, (self._paper_id, self._score, self.reasons))  # pickles without the index
