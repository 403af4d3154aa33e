"""The records matching reads and returns: papers in, requests in, ranked matches out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # service.preferences imports matching.text: avoid the import cycle
    from service.preferences import Preferences

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


@dataclass(frozen=True, slots=True)
class Match:
    paper_id: int
    score: float
    reasons: Reasons
