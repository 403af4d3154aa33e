"""The topic taxonomy and the pure, deterministic classifier that puts papers into topics.

A ``Taxonomy`` is an ordered tuple of ``Topic`` rules, loaded from ``config/topics.toml``
(``load_taxonomy``) or from database rows (``Taxonomy.from_rows``), with a content hash
``version``: store it next to each paper's topics and re-classify when it changes.

The rule (also documented at the top of ``config/topics.toml``). Keywords decide; arXiv
categories are a weak signal. A paper belongs to a topic when none of the topic's *negative*
terms (``exclude`` entries written ``"!term"``) occurs in its title or abstract, and ANY of:

1. its primary category is one of the topic's ``strong_categories`` (cs.RO is robotics), or
2. a ``keywords`` or ``title_keywords`` term occurs in its title, or
3. its abstract hit count reaches ``min_abstract_hits`` (default 2): one per occurrence of a
   ``keywords`` term in the abstract (terms overlapping on the same words count once), plus one
   when any of its categories is among the topic's ``categories`` or ``strong_categories``.

Plain ``exclude`` entries mask: an occurrence of a term overlapping one of them never counts
("hate speech" masks "speech", but "speech recognition" elsewhere still counts). A category
alone is worth one point and never classifies a paper; cs.AI and cs.LG appear in no topic. A
paper matching nothing gets ``[]`` (there is no fallback topic).

What "a term occurs" means is :mod:`service.matching.terms`, the same rule subscriber keywords
use: case-insensitive, whole words, plurals, and hyphen/space/no-space variants
("pre-training" = "pre training" = "pretraining"). All terms of all topics go into one
``TermSet`` built with the ``Taxonomy``, so a paper costs one pass over its title and one over
its abstract, whatever the number of topics.

``classify_evidence`` also says *why*: the terms (as written in the taxonomy) and category that
put the paper in each topic, which digests show as the reason ("Efficient inference:
'quantization', 'INT8'").
"""

from __future__ import annotations

import hashlib
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.matching.terms import Term, TermSet, Tokens, parse_term, tokenize

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "config" / "topics.toml"
DEFAULT_MIN_ABSTRACT_HITS = 2
# Part of every version hash: bump it when the matching rules change so stored topics are redone.
# 2: terms match as service.matching.terms says; "!term" exclusions keep a paper out.
MATCHER_VERSION = 2
NEGATIVE_PREFIX = "!"

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# cs.LG, math-ph, q-bio.GN, hep-th, stat.ML
_CATEGORY_RE = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
_KEYWORD, _TITLE_KEYWORD, _MASK, _NEGATIVE = 0, 1, 2, 3
_LIST_FIELDS = ("categories", "strong_categories", "keywords", "title_keywords", "exclude")
_FIELDS = frozenset({"slug", "name", "description", "min_abstract_hits", *_LIST_FIELDS})


@dataclass(frozen=True)
class Topic:
    """One topic and its matching rule (see the module docstring for how the fields combine)."""

    slug: str
    name: str
    description: str = ""
    categories: tuple[str, ...] = ()  # weak: worth one abstract hit
    strong_categories: tuple[str, ...] = ()  # decisive as the primary category
    keywords: tuple[str, ...] = ()  # decisive in the title, counted in the abstract
    title_keywords: tuple[str, ...] = ()  # decisive in the title, ignored in the abstract
    # "phrase": occurrences overlapping it never count; "!term": anywhere, keeps the paper out
    exclude: tuple[str, ...] = ()
    min_abstract_hits: int = DEFAULT_MIN_ABSTRACT_HITS

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"topic {self.slug!r}: {name} must be a list of strings")
            object.__setattr__(self, name, tuple(value))
        _validate_topic(self)

    @property
    def negative(self) -> tuple[str, ...]:
        """The ``exclude`` entries written ``"!term"``, without the ``!``."""
        return tuple(e[1:].strip() for e in self.exclude if e.startswith(NEGATIVE_PREFIX))

    def as_row(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, not tuples): what ``Taxonomy.from_rows`` takes back."""
        row: dict[str, Any] = {"slug": self.slug, "name": self.name}
        row["description"] = self.description
        row.update({name: list(getattr(self, name)) for name in _LIST_FIELDS})
        row["min_abstract_hits"] = self.min_abstract_hits
        return row


@dataclass(frozen=True, slots=True)
class TopicEvidence:
    """Why a paper is in one topic: the topic's terms (as the taxonomy writes them) that it
    contains, title first, and the arXiv category that counted, if one did."""

    slug: str
    title_terms: tuple[str, ...] = ()
    abstract_terms: tuple[str, ...] = ()
    category: str | None = None

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.title_terms + self.abstract_terms))


@dataclass(frozen=True)
class _Rule:
    """The category half of a topic's rule, as sets."""

    categories: frozenset[str]
    strong_categories: frozenset[str]
    min_abstract_hits: int


@dataclass(frozen=True)
class _Matcher:
    """Every term of every topic in one ``TermSet``; ``owners[n]`` says whose term number n is:
    ``(topic index, role, the term as the taxonomy writes it)``."""

    terms: TermSet
    owners: tuple[tuple[tuple[int, int, str], ...], ...]
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class Taxonomy:
    """Ordered topics, their content hash ``version`` and their compiled matcher."""

    topics: tuple[Topic, ...]
    version: str = field(init=False)
    _matcher: _Matcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        topics = tuple(self.topics)
        if not topics:
            raise ValueError("taxonomy has no topics")
        seen: set[str] = set()
        for topic in topics:
            if topic.slug in seen:
                raise ValueError(f"topic {topic.slug!r}: duplicate slug")
            seen.add(topic.slug)
        object.__setattr__(self, "topics", topics)
        object.__setattr__(self, "version", _version_of(topics))
        object.__setattr__(self, "_matcher", _compile(topics))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Taxonomy:
        """Build from mappings shaped like ``Topic.as_row()`` (database rows, parsed TOML)."""
        return cls(tuple(_topic_from_mapping(i, row) for i, row in enumerate(rows)))

    def to_rows(self) -> list[dict[str, Any]]:
        return [topic.as_row() for topic in self.topics]

    @property
    def slugs(self) -> list[str]:
        return [topic.slug for topic in self.topics]

    def get(self, slug: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.slug == slug), None)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy TOML file (default: the shipped ``config/topics.toml``)."""
    path = path or DEFAULT_TAXONOMY_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"topics"})
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {unknown} (expected [[topics]] tables)")
    rows = data.get("topics")
    if not isinstance(rows, list):
        raise ValueError(f"{path}: no [[topics]] tables")
    try:
        return Taxonomy.from_rows(rows)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def classify(
    title: str,
    abstract: str,
    categories: Sequence[str],
    primary_category: str | None,
    taxonomy: Taxonomy,
) -> list[str]:
    """Slugs of the topics this paper belongs to, in taxonomy order (pure, deterministic)."""
    return [e.slug for e in classify_evidence(title, abstract, categories, primary_category, taxonomy)]


def classify_evidence(
    title: str | Tokens,
    abstract: str | Tokens,
    categories: Sequence[str],
    primary_category: str | None,
    taxonomy: Taxonomy,
) -> list[TopicEvidence]:
    """The topics this paper belongs to, in taxonomy order, each with what put it there.

    ``title`` and ``abstract`` may come already tokenised (the matcher's index has them).
    """
    matcher = taxonomy._matcher
    in_title = _hits(matcher, title if isinstance(title, Tokens) else tokenize(title), in_title=True)
    in_abstract = _hits(matcher, abstract if isinstance(abstract, Tokens) else tokenize(abstract), in_title=False)
    paper_categories = set(categories)
    if primary_category:
        paper_categories.add(primary_category)
    found: list[TopicEvidence] = []
    for index, (topic, rule) in enumerate(zip(taxonomy.topics, matcher.rules, strict=True)):
        title_hits, title_veto = in_title.get(index, ((), False))
        abstract_hits, abstract_veto = in_abstract.get(index, ((), False))
        if title_veto or abstract_veto:
            continue
        abstract_terms = tuple(raw for raw, _ in abstract_hits)
        title_terms = tuple(raw for raw, _ in title_hits)
        weak = next((c for c in topic.categories + topic.strong_categories if c in paper_categories), None)
        if primary_category in rule.strong_categories:
            found.append(TopicEvidence(topic.slug, _distinct(title_terms), _distinct(abstract_terms), primary_category))
        elif title_terms:
            found.append(TopicEvidence(topic.slug, _distinct(title_terms), _distinct(abstract_terms)))
        elif len(abstract_terms) + (weak is not None) >= rule.min_abstract_hits:
            found.append(TopicEvidence(topic.slug, (), _distinct(abstract_terms), weak))
    return found


def _distinct(terms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))


def _hits(matcher: _Matcher, toks: Tokens, *, in_title: bool) -> dict[int, tuple[tuple[tuple[str, int], ...], bool]]:
    """Per topic index: (the counted occurrences as (term, role), in text order; whether a
    negative term occurs). ``title_keywords`` count in titles only.

    Per topic, occurrences overlapping a masking exclusion are dropped, and of the rest those
    overlapping an earlier or longer one count once (left to right, longest first).
    """
    if not toks.words:
        return {}
    runs: dict[int, list[tuple[int, int, int, str]]] = {}  # topic → (first, -last, role, term)
    vetoed: set[int] = set()
    for n, spots in matcher.terms.find(toks).items():
        for topic_index, role, raw in matcher.owners[n]:
            if role == _NEGATIVE:
                vetoed.add(topic_index)
            elif in_title or role != _TITLE_KEYWORD:
                runs.setdefault(topic_index, []).extend((i, -j, role, raw) for i, j in spots)
    result: dict[int, tuple[tuple[tuple[str, int], ...], bool]] = {t: ((), True) for t in vetoed}
    for topic_index, occurrences in runs.items():
        if topic_index in vetoed:
            continue
        masks = [(i, -j) for i, j, role, _ in occurrences if role == _MASK]
        counted: list[tuple[str, int]] = []
        cursor = 0
        for i, neg_last, role, raw in sorted(occurrences):
            last = -neg_last
            if role == _MASK or i < cursor or any(i <= m_last and m_first <= last for m_first, m_last in masks):
                continue
            counted.append((raw, role))
            cursor = last + 1
        result[topic_index] = (tuple(counted), False)
    return result


def _compile(topics: Sequence[Topic]) -> _Matcher:
    owners: dict[Term, list[tuple[int, int, str]]] = {}
    for index, topic in enumerate(topics):
        roles = [(_KEYWORD, t) for t in topic.keywords] + [(_TITLE_KEYWORD, t) for t in topic.title_keywords]
        for entry in topic.exclude:
            negative = entry.startswith(NEGATIVE_PREFIX)
            roles.append((_NEGATIVE, entry[1:]) if negative else (_MASK, entry))
        for role, raw in roles:
            term = parse_term(raw)
            if term is not None:  # validation refused terms without letters or digits
                owners.setdefault(term, []).append((index, role, raw.strip()))
    terms = TermSet(owners)
    rules = tuple(
        _Rule(
            # A strong category listed as a secondary category is still a weak signal.
            categories=frozenset(t.categories + t.strong_categories),
            strong_categories=frozenset(t.strong_categories),
            min_abstract_hits=t.min_abstract_hits,
        )
        for t in topics
    )
    return _Matcher(terms, tuple(tuple(owners[t]) for t in terms.terms), rules)


def _version_of(topics: Sequence[Topic]) -> str:
    canonical = json.dumps(
        {"matcher": MATCHER_VERSION, "topics": [t.as_row() for t in topics]},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _topic_from_mapping(index: int, row: Mapping[str, Any]) -> Topic:
    if not isinstance(row, Mapping):
        raise ValueError(f"topic #{index + 1}: expected a table, got {type(row).__name__}")
    slug = row.get("slug")
    label = f"topic {slug!r}" if isinstance(slug, str) and slug else f"topic #{index + 1} (no slug)"
    unknown = sorted(set(row) - _FIELDS)
    if unknown:
        raise ValueError(f"{label}: unknown keys {unknown}")
    for required in ("slug", "name"):
        if not isinstance(row.get(required), str):
            raise ValueError(f"{label}: {required} must be a string")
    values = {key: value for key, value in row.items() if value is not None}
    return Topic(**values)


def _validate_topic(topic: Topic) -> None:
    label = f"topic {topic.slug!r}"
    if not isinstance(topic.slug, str) or not _SLUG_RE.fullmatch(topic.slug):
        raise ValueError(f"{label}: slug must match ^{_SLUG_RE.pattern}$")
    if not isinstance(topic.name, str) or not topic.name.strip():
        raise ValueError(f"{label}: name must not be empty")
    if not isinstance(topic.description, str):
        raise ValueError(f"{label}: description must be a string")
    hits = topic.min_abstract_hits
    if not isinstance(hits, int) or isinstance(hits, bool) or hits < 1:
        raise ValueError(f"{label}: min_abstract_hits must be an integer >= 1")
    for name in _LIST_FIELDS:
        for value in getattr(topic, name):
            if not isinstance(value, str):
                raise ValueError(f"{label}: {name} must hold strings, got {value!r}")
            if name.endswith("categories"):
                if not _CATEGORY_RE.fullmatch(value):
                    raise ValueError(f"{label}: {value!r} in {name} is not an arXiv category")
            elif parse_term(value.removeprefix(NEGATIVE_PREFIX) if name == "exclude" else value) is None:
                raise ValueError(f"{label}: {name} term {value!r} has no letters or digits")
    if not (topic.keywords or topic.title_keywords or topic.strong_categories):
        raise ValueError(f"{label}: no keywords, title_keywords or strong_categories to match on")
