"""The records matching reads and returns: papers in, requests in, ranked matches out."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # service.subscribers.preferences imports matching.terms: avoid the import cycle
    from service.subscribers.preferences import Preferences

Field = Literal["title", "abstract"]
# The parts of a score, by name, as `papermail digest preview --format json` shows them
# (service/matching/score.py says what each is).
PARTS = ("keywords", "authors", "profile", "topics", "upvotes", "recency")
SeedKind = Literal["liked", "seed"]


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
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    # papers.term_counts as stored at ingest (service.matching.vectors); None: computed when needed
    term_counts: Mapping[str, object] | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.first_seen_at.utcoffset() is None:
            raise ValueError(f"paper {self.id}: first_seen_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ProfilePaper:
    """A paper a reader voted on or seeded, wherever it is (often outside the window)."""

    id: int
    title: str
    abstract: str = ""
    term_counts: Mapping[str, object] | None = field(default=None, compare=False, hash=False, repr=False)
    categories: tuple[str, ...] = field(default=(), compare=False, hash=False, repr=False)  # arXiv, primary first


@dataclass(frozen=True, slots=True)
class Profile:
    """What a reader told papermail about papers: 👍, 👎 and "more like these" (paper ids)."""

    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    seeds: tuple[int, ...] = ()
    # Liked and seed papers, the ones the profile moves towards (worked out once: batches read it)
    positive: tuple[int, ...] = field(init=False, compare=False, repr=False)
    # Papers the reader has judged or named: never offered to them again
    known: frozenset[int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positive", tuple(dict.fromkeys(self.liked + self.seeds)))
        object.__setattr__(self, "known", frozenset(self.liked + self.disliked + self.seeds))

    @property
    def empty(self) -> bool:
        return not self.known


NO_PROFILE = Profile()


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """One subscriber's question: their preferences, the window start, what they already got."""

    preferences: Preferences
    since: datetime  # papers first seen at or after this instant (timezone-aware)
    already_sent: frozenset[int] = field(default_factory=frozenset)
    profile: Profile = NO_PROFILE
    limit: int | None = None  # None: preferences.max_papers; 0: every candidate

    @property
    def wanted(self) -> int | None:
        """How many matches to return; None for all of them."""
        limit = self.preferences.max_papers if self.limit is None else self.limit
        return limit or None


@dataclass(frozen=True, slots=True)
class TermHit:
    """A keyword found in one field, with the character spans of each occurrence.

    Spans index the paper's original title/abstract string: ``title[start:end]``.
    """

    term: str  # the keyword as the subscriber wrote it
    field: Field
    spans: tuple[tuple[int, int], ...]
    _hash: int | None = dataclasses.field(default=None, init=False, repr=False, compare=False, hash=False)

    # The index makes one TermHit per keyword and paper for all its readers, and each reader's digest
    # hashes it (their Reasons are dict keys there): the hash of its spans is worked out once.
    def __hash__(self) -> int:
        found = self._hash
        if found is None:
            found = hash((self.term, self.field, self.spans))
            object.__setattr__(self, "_hash", found)
        return found

    def __reduce__(self) -> tuple[type[TermHit], tuple[str, Field, tuple[tuple[int, int], ...]]]:
        return (TermHit, (self.term, self.field, self.spans))  # str hashes differ between processes


@dataclass(frozen=True, slots=True)
class TopicReason:
    """A followed topic the paper is in, with the taxonomy's terms that put it there."""

    slug: str
    terms: tuple[str, ...] = ()  # as the taxonomy writes them, title first
    category: str | None = None  # the arXiv category that counted, if one did
    _hash: int | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __hash__(self) -> int:  # worked out once, as TermHit's: one per paper and topic, for all readers
        found = self._hash
        if found is None:
            found = hash((self.slug, self.terms, self.category))
            object.__setattr__(self, "_hash", found)
        return found

    def __reduce__(self) -> tuple[type[TopicReason], tuple[str, tuple[str, ...], str | None]]:
        return (TopicReason, (self.slug, self.terms, self.category))


@dataclass(frozen=True, slots=True)
class Liked:
    """The reader's liked or seed paper that contributes most to this paper's profile score."""

    paper_id: int
    title: str
    kind: SeedKind


@dataclass(frozen=True, slots=True)
class Reasons:
    """Why a paper is in a digest: every one of these is shown to the reader."""

    terms: tuple[TermHit, ...] = ()  # keyword order, title before abstract
    topics: tuple[str, ...] = ()  # sorted slugs
    authors: tuple[str, ...] = ()  # the paper's spelling, in the order the subscriber follows them
    trending: bool = False  # picked as a top trending paper (subscriber has no filters)
    evidence: tuple[TopicReason, ...] = ()  # why the paper is in each of ``topics``, when known
    like: Liked | None = None  # set when the profile is a visible part of the score
    _hash: int | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    # A digest hashes each paper's Reasons 1–3 times (compose finds the paper's block by it):
    # worked out once, as TermHit's.
    def __hash__(self) -> int:
        found = self._hash
        if found is None:
            found = hash((self.terms, self.topics, self.authors, self.trending, self.evidence, self.like))
            object.__setattr__(self, "_hash", found)
        return found

    def __reduce__(self) -> tuple[type[Reasons], tuple[object, ...]]:
        return (Reasons, (self.terms, self.topics, self.authors, self.trending, self.evidence, self.like))


class Explainer(Protocol):
    def explain(self, pos: int) -> Reasons: ...

    def parts(self, pos: int) -> tuple[float, ...]: ...


class Match:
    """One paper picked for a subscriber: its id, its score (points), why, and the score's parts.

    Read-only like the other records (``Match(paper_id, score, reasons)``; equal when all three
    are). A match from :func:`~service.matching.match.match_many` (made when its reader's
    ``ranked.Ranked`` is first read) works its ``reasons`` and ``parts`` out on first access and
    keeps them: planning reads only ids and scores, and the digest being rendered reads the
    reasons of its own papers. Such a match keeps its index alive until then.
    """

    __slots__ = ("_explainer", "_paper_id", "_parts", "_pos", "_reasons", "_score")
    _paper_id: int
    _score: float
    _reasons: Reasons | None  # None until a lazy match is asked
    _parts: tuple[float, ...] | None  # in the order of score.PARTS
    _explainer: Explainer
    _pos: int

    def __init__(self, paper_id: int, score: float, reasons: Reasons, parts: Mapping[str, float] | None = None) -> None:
        self._paper_id = paper_id
        self._score = score
        self._reasons = reasons
        self._parts = tuple(parts.get(name, 0.0) for name in PARTS) if parts else ()

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

    @property
    def parts(self) -> dict[str, float]:
        """The score's named parts (``score.PARTS``); they add up to ``score`` (empty for a
        match rebuilt from a record that kept none)."""
        parts = self._parts
        if parts is None:
            parts = self._parts = self._explainer.parts(self._pos)
        return dict(zip(PARTS, parts, strict=False))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return self._paper_id == other._paper_id and self._score == other._score and self.reasons == other.reasons

    def __hash__(self) -> int:
        return hash((self._paper_id, self._score, self.reasons))

    def __repr__(self) -> str:
        return f"Match(paper_id={self._paper_id!r}, score={self._score!r}, reasons={self.reasons!r})"

    def __reduce__(self) -> tuple[type[Match], tuple[int, float, Reasons, dict[str, float]]]:
        return (Match, (self._paper_id, self._score, self.reasons, self.parts))  # pickles without the index
