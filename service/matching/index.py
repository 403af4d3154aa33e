"""``PaperIndex``: the papers of one planning window, laid out so that a subscriber costs microseconds.

Built once per window; every subscriber's request is then answered from it.

- Titles and abstracts are tokenised once (:mod:`service.matching.text`) into an inverted index
  word → paper positions. A term is looked up once per index, however many subscribers use it:
  its candidate papers come from the postings of its first word and are verified token by token.
- Papers sit at *positions* ordered by the ranking tie-break (upvotes desc, id asc).
- Per-paper scores are *packed* into one Python int, 8 bits per position (SWAR, "SIMD within a
  register"): a keyword's packed int holds its score (half points) on each paper it hits, so a
  subscriber's relevance for all papers at once is a sum of a few big ints, computed in C. The
  sum never carries from one 8-bit field into the next because the matcher only takes this path
  when the subscriber's highest possible score stays below 256.

Why not Aho-Corasick (pyahocorasick, measured on the bench's 500 papers and 347 distinct
terms): scanning the folded texts for the union of all terms takes ~10 ms against ~80 ms to
tokenise and build the postings here, but its raw substring hits still need the word-boundary,
gap and plural checks, phrases across hyphens need a normalised copy of every text, and the
term union must be known before the build. Here a term is resolved on first use from
positional postings (~0.3 ms per term), and identical results follow from one definition.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING

from service.matching import rank
from service.matching.records import IndexedPaper, Reasons, TermHit
from service.matching.text import Term, Tokens, normalise_author, occurs_at, parse_term, tokenize

if TYPE_CHECKING:
    from service.subscribers.preferences import Preferences

BITS = 8
FIELD_MAX = (1 << BITS) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """Exact microseconds since the epoch (a float timestamp could tie distinct instants)."""
    return (at - _EPOCH) // _MICRO


def spread(positions: Iterable[int], value: int) -> int:
    """A packed int holding ``value`` in the field of every position (0 elsewhere)."""
    packed = 0
    for pos in positions:
        packed |= value << (BITS * pos)
    return packed


@dataclass(frozen=True, slots=True)
class KeywordEntry:
    """One keyword (as written) against every paper of the index."""

    term: str
    mask: int  # bit per position it occurs at
    fields: int  # 0xFF in the field of each such position (for exclusions)
    packed: int  # its score contribution in each such field
    max_half: int  # the largest of those contributions, 0 when it occurs nowhere
    half: dict[int, int]  # position → score contribution
    hits: dict[int, tuple[TermHit, ...]]  # position → the reasons to show


@dataclass(frozen=True, slots=True)
class AuthorEntry:
    mask: int
    packed: int
    max_half: int
    names: dict[int, tuple[str, ...]]  # position → the paper's spelling of the name


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """One topic slug against every paper of the index."""

    mask: int
    packed: int
    max_half: int


class PaperIndex:
    """Papers of a window with their tokens, postings, boosts and memoised per-term entries."""

    def __init__(self, papers: Iterable[IndexedPaper], now: datetime) -> None:
        self.now = now
        self.papers: tuple[IndexedPaper, ...] = tuple(sorted(papers, key=lambda p: (-p.upvotes, p.id)))
        n = len(self.papers)
        self.size = n
        self.position = {p.id: i for i, p in enumerate(self.papers)}
        self.ids = tuple(p.id for p in self.papers)
        self.paper_topics = tuple(p.topics for p in self.papers)
        if len(self.position) != n:
            raise ValueError("paper ids must be unique within an index")
        self.tokens: tuple[tuple[Tokens, Tokens], ...] = tuple(
            (tokenize(p.title), tokenize(p.abstract)) for p in self.papers
        )
        # word → every (position, field, token index) it is at, in text order
        postings: defaultdict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for pos, fields in enumerate(self.tokens):
            for field, toks in enumerate(fields):
                for i, word in enumerate(toks.words):
                    postings[word].append((pos, field, i))
        self.postings = dict(postings)
        authors: defaultdict[str, list[int]] = defaultdict(list)
        for pos, p in enumerate(self.papers):
            for name in dict.fromkeys(normalise_author(a) for a in p.authors):
                authors[name].append(pos)
        self.author_postings = dict(authors)
        self.boost_half = tuple(rank.boost_half(p.upvotes, p.first_seen_at, now) for p in self.papers)
        self.max_boost_half = max(self.boost_half, default=0)
        self.ones = spread(range(n), 1)
        self.low7 = spread(range(n), 0x7F)
        self.high1 = spread(range(n), 0x80)
        self.boost_packed = sum(b << (BITS * i) for i, b in enumerate(self.boost_half))
        self._keywords: dict[str, KeywordEntry] = {}
        self._occurrences: dict[Term, dict[int, tuple[tuple[tuple[int, int], ...], ...]]] = {}
        self._authors: dict[str, AuthorEntry] = {}
        self._topics: dict[str, TopicEntry] = {}
        self.topic_reasons_cache: dict[frozenset[str], tuple[tuple[str, ...], Reasons]] = {}
        # Newest first: _since_fields[i] holds the fields of the i newest papers, so a window
        # start maps to one entry by binary search over (negated) ages in microseconds.
        by_age = sorted(range(n), key=lambda pos: -_micros(self.papers[pos].first_seen_at))
        self._seen_desc = [-_micros(self.papers[pos].first_seen_at) for pos in by_age]
        self._since_fields = [0]
        for pos in by_age:
            self._since_fields.append(self._since_fields[-1] | (FIELD_MAX << (BITS * pos)))
        self._upvote_fields: dict[int, int] = {}
        self._source_fields: dict[tuple[str, ...], int] = {}
        self._recent: dict[datetime, int] = {}  # window start → _since_fields entry
        # The hot path reads plain ints from these (filled with the entries above), so that a
        # subscriber's sums are ``sum(map(d.__getitem__, terms))``: loops in C, not in Python.
        self.keyword_packed: dict[str, int] = {}
        self.keyword_max: dict[str, int] = {}
        self.keyword_fields: dict[str, int] = {}
        self.topic_packed: dict[str, int] = {}
        self.topic_max: dict[str, int] = {}
        self.author_packed: dict[str, int] = {}
        self.author_max: dict[str, int] = {}
        # at_least[b]: the bits b..7 of every field, so ``scores & at_least[b]`` tells whether
        # some score reaches 2**b (a tighter start for the top-k walk than the sum of maxima)
        self.at_least = tuple(spread(range(n), (FIELD_MAX << b) & FIELD_MAX) for b in range(BITS))

    @classmethod
    def build(cls, papers: Iterable[IndexedPaper], now: datetime) -> PaperIndex:
        return cls(papers, now)

    # -- terms ------------------------------------------------------------------------------

    def occurrences(self, term: Term) -> dict[int, tuple[tuple[tuple[int, int], ...], ...]]:
        """Position → (title spans, abstract spans) for every paper the term occurs in.

        Only the places where the term's first word stands are checked (for a one-word term,
        the word and its plurals), so a term costs in proportion to how often it occurs.
        """
        found = self._occurrences.get(term)
        if found is None:
            first, n = term.words[0], len(term.words)
            if n == 1:
                starts = sorted(chain.from_iterable(self.postings.get(first + e, ()) for e in ("", "s", "es")))
            else:
                starts = self.postings.get(first, [])
            spans: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
            next_free: dict[tuple[int, int], int] = {}  # occurrences never overlap (see text.py)
            for pos, field, i in starts:
                toks = self.tokens[pos][field]
                if i >= next_free.get((pos, field), 0) and occurs_at(term, toks, i):
                    spans.setdefault(pos, ([], []))[field].append((toks.spans[i][0], toks.spans[i + n - 1][1]))
                    next_free[pos, field] = i + n
            found = {pos: (tuple(t), tuple(a)) for pos, (t, a) in spans.items()}
            self._occurrences[term] = found
        return found

    def keyword(self, raw: str) -> KeywordEntry:
        entry = self._keywords.get(raw)
        if entry is None:
            term = parse_term(raw)
            occ = self.occurrences(term) if term is not None else {}
            phrase = term is not None and term.is_phrase
            half = {pos: rank.keyword_half(phrase, bool(t), bool(a)) for pos, (t, a) in occ.items()}
            hits = {
                pos: tuple(TermHit(raw, f, s) for f, s in (("title", t), ("abstract", a)) if s)
                for pos, (t, a) in occ.items()
            }
            entry = KeywordEntry(
                term=raw,
                mask=sum(1 << p for p in occ),
                fields=spread(occ, FIELD_MAX),
                packed=sum(h << (BITS * p) for p, h in half.items()),
                max_half=max(half.values(), default=0),
                half=half,
                hits=hits,
            )
            self._keywords[raw] = entry
            self.keyword_packed[raw] = entry.packed
            self.keyword_max[raw] = entry.max_half
            self.keyword_fields[raw] = entry.fields
        return entry

    # -- authors and topics ---------------------------------------------------------------------

    def author(self, raw: str) -> AuthorEntry:
        entry = self._authors.get(raw)
        if entry is None:
            name = normalise_author(raw)
            positions = self.author_postings.get(name, [])
            names = {p: tuple(a for a in self.papers[p].authors if normalise_author(a) == name) for p in positions}
            entry = AuthorEntry(
                mask=sum(1 << p for p in positions),
                packed=spread(positions, rank.AUTHOR_HALF),
                max_half=rank.AUTHOR_HALF if positions else 0,
                names=names,
            )
            self._authors[raw] = entry
            self.author_packed[raw] = entry.packed
            self.author_max[raw] = entry.max_half
        return entry

    def topic(self, slug: str) -> TopicEntry:
        entry = self._topics.get(slug)
        if entry is None:
            positions = [pos for pos, p in enumerate(self.papers) if slug in p.topics]
            entry = TopicEntry(
                mask=sum(1 << p for p in positions),
                packed=spread(positions, rank.TOPIC_HALF),
                max_half=rank.TOPIC_HALF if positions else 0,
            )
            self._topics[slug] = entry
            self.topic_packed[slug] = entry.packed
            self.topic_max[slug] = entry.max_half
        return entry

    def resolve(self, prefs: Preferences) -> None:
        """Look up every term of ``prefs`` once, so the hot-path dicts hold them all."""
        for raw in chain(prefs.keywords, prefs.exclude):
            self.keyword(raw)
        for raw in prefs.authors:
            self.author(raw)
        for slug in prefs.topics:
            self.topic(slug)

    def topic_reasons(self, pos: int, wanted: frozenset[str]) -> tuple[tuple[str, ...], Reasons]:
        """(sorted slugs the paper shares with ``wanted``, the reasons when they alone matched)."""
        common = self.papers[pos].topics & wanted
        found = self.topic_reasons_cache.get(common)
        if found is None:  # few distinct combinations: shared by every subscriber and paper
            slugs = tuple(sorted(common))
            found = self.topic_reasons_cache[common] = (slugs, Reasons(topics=slugs))
        return found

    # -- window -----------------------------------------------------------------------------

    def window(self, since: datetime, min_upvotes: int, sources: tuple[str, ...]) -> int:
        """0xFF in the field of every paper first seen since ``since`` that passes the filters.

        ``since`` differs from subscriber to subscriber (their last digest), so it is a binary
        search over the papers by age rather than a cache entry per instant.
        """
        recent = self._recent.get(since)
        if recent is None:  # subscribers share few window starts (their send hour): memoise
            recent = self._since_fields[bisect_right(self._seen_desc, -_micros(since))]
            self._recent[since] = recent
        fields = self._upvote_fields.get(min_upvotes)
        if fields is None:
            fields = spread((pos for pos, p in enumerate(self.papers) if p.upvotes >= min_upvotes), FIELD_MAX)
            self._upvote_fields[min_upvotes] = fields
        if sources:
            by_source = self._source_fields.get(sources)
            if by_source is None:
                wanted = frozenset(sources)
                by_source = spread(
                    (pos for pos, p in enumerate(self.papers) if not wanted.isdisjoint(p.sources)), FIELD_MAX
                )
                self._source_fields[sources] = by_source
            fields &= by_source
        return recent & fields
