"""The topic taxonomy and the pure, deterministic classifier that puts papers into topics.

A ``Taxonomy`` is an ordered tuple of ``Topic`` rules, loaded from ``config/topics.toml``
(``load_taxonomy``) or from database rows (``Taxonomy.from_rows``), with a content hash
``version``: store it next to each paper's topics and re-classify when it changes.

The rule (also documented at the top of ``config/topics.toml``). Keywords decide; arXiv
categories are a weak signal. A paper belongs to a topic when ANY of:

1. its primary category is one of the topic's ``strong_categories`` (cs.RO is robotics), or
2. a ``keywords`` or ``title_keywords`` term matches its title, or
3. its abstract hit count reaches ``min_abstract_hits`` (default 2): one per occurrence of a
   ``keywords`` term in the abstract, plus one when any of its categories is among the topic's
   ``categories`` or ``strong_categories``.

A category alone is therefore worth one point and never classifies a paper; cs.AI and cs.LG
appear in no topic. A paper matching nothing gets ``[]`` (there is no fallback topic).

Terms match case-insensitively and as whole words, also with a trailing ``s``/``es``; a space or
hyphen inside a term matches any run of whitespace and hyphens, and a term of several words also
matches them written as one ("multi-agent" = "multi agent" = "multiagent"). Occurrences inside
an ``exclude`` phrase ("hate speech" for speech-audio) never count.

Speed: every term of every topic goes into one Aho-Corasick automaton (pyahocorasick), built once
when the ``Taxonomy`` is built, so a paper costs one C pass over its title and one over its
abstract, whatever the number of topics and terms; boundaries, plurals and exclusions are then
checked on the few candidate matches only.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "config" / "topics.toml"
DEFAULT_MIN_ABSTRACT_HITS = 2
# Part of every version hash: bump it when the matching rules change so stored topics are redone.
MATCHER_VERSION = 1

_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# cs.LG, math-ph, q-bio.GN, hep-th, stat.ML
_CATEGORY_RE = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
# Runs of these collapse to one space in terms and texts alike (hyphens, dashes, newlines).
_SEPARATORS_RE = re.compile(r"[\s\-\u2010\u2011\u2013]+")
_KEYWORD, _TITLE_KEYWORD, _EXCLUDE = 0, 1, 2
_TITLE_ROLES = frozenset({_KEYWORD, _TITLE_KEYWORD, _EXCLUDE})
_ABSTRACT_ROLES = frozenset({_KEYWORD, _EXCLUDE})
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
    exclude: tuple[str, ...] = ()  # occurrences inside these phrases never count
    min_abstract_hits: int = DEFAULT_MIN_ABSTRACT_HITS

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"topic {self.slug!r}: {name} must be a list of strings")
            object.__setattr__(self, name, tuple(value))
        _validate_topic(self)

    def as_row(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, not tuples): what ``Taxonomy.from_rows`` takes back."""
        row: dict[str, Any] = {"slug": self.slug, "name": self.name}
        row["description"] = self.description
        row.update({name: list(getattr(self, name)) for name in _LIST_FIELDS})
        row["min_abstract_hits"] = self.min_abstract_hits
        return row


@dataclass(frozen=True)
class _Rule:
    """The category half of a topic's rule, as sets."""

    categories: frozenset[str]
    strong_categories: frozenset[str]
    min_abstract_hits: int


@dataclass(frozen=True)
class _Matcher:
    """Every term of every topic in one Aho-Corasick automaton: one pass over a text finds all.

    Keys are normalised term spellings; values are ``(key length, ((topic index, role), ...))``.
    """

    automaton: ahocorasick.Automaton
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class Taxonomy:
    """Ordered topics, their content hash ``version`` and their compiled matchers."""

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
    matcher = taxonomy._matcher
    paper_categories = set(categories)
    if primary_category:
        paper_categories.add(primary_category)
    in_title = _count_hits(matcher, title, _TITLE_ROLES)
    in_abstract = _count_hits(matcher, abstract, _ABSTRACT_ROLES)
    slugs: list[str] = []
    for index, (topic, rule) in enumerate(zip(taxonomy.topics, matcher.rules, strict=True)):
        if primary_category in rule.strong_categories or in_title.get(index, 0) > 0:
            slugs.append(topic.slug)
            continue
        hits = in_abstract.get(index, 0) + (1 if paper_categories & rule.categories else 0)
        if hits >= rule.min_abstract_hits:
            slugs.append(topic.slug)
    return slugs


def _count_hits(matcher: _Matcher, text: str, roles: frozenset[int]) -> dict[int, int]:
    """Per topic index, how many of its terms occur in ``text`` (exclusions masking them).

    Per topic this scans like a regex ``finditer`` would: left to right, non-overlapping, at
    one position an exclusion before a keyword and a longer match before a shorter one.
    """
    if not text or not len(matcher.automaton):
        return {}
    normal = _normalise(text)
    candidates: dict[int, list[tuple[int, bool, int, int]]] = defaultdict(list)
    for last, (length, entries) in matcher.automaton.iter(normal):
        start = last - length + 1
        if start > 0 and _is_word(normal[start - 1]):
            continue
        end = _word_end(normal, last + 1)
        if end is None:
            continue
        for topic_index, role in entries:
            if role in roles:
                candidates[topic_index].append((start, role != _EXCLUDE, start - end, end))
    counts: dict[int, int] = {}
    for topic_index, found in candidates.items():
        found.sort()
        cursor = count = 0
        for start, counts_as_hit, _, end in found:
            if start >= cursor:
                cursor = end
                count += counts_as_hit
        counts[topic_index] = count
    return counts


def _word_end(text: str, end: int) -> int | None:
    """Where a match ending at ``end`` stops, allowing a plural s/es; None if mid-word."""
    for suffix in ("es", "s", ""):
        if text.startswith(suffix, end):
            stop = end + len(suffix)
            if stop == len(text) or not _is_word(text[stop]):
                return stop
    return None


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _normalise(text: str) -> str:
    # Terms and texts get the same treatment, so "Multi-\nAgent" meets the term "multi agent".
    return _SEPARATORS_RE.sub(" ", text.lower())


def _compile(topics: Sequence[Topic]) -> _Matcher:
    entries: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for index, topic in enumerate(topics):
        for role, terms in (
            (_KEYWORD, topic.keywords),
            (_TITLE_KEYWORD, topic.title_keywords),
            (_EXCLUDE, topic.exclude),
        ):
            for term in terms:
                parts = _normalise(term).split()
                # "multi-agent" also as "multiagent"; "re-ranking" also as "reranking".
                for spelling in {" ".join(parts), "".join(parts)}:
                    entries[spelling].add((index, role))
    automaton = ahocorasick.Automaton()
    for spelling, owners in sorted(entries.items()):
        automaton.add_word(spelling, (len(spelling), tuple(sorted(owners))))
    automaton.make_automaton()
    rules = tuple(
        _Rule(
            # A strong category listed as a secondary category is still a weak signal.
            categories=frozenset(t.categories + t.strong_categories),
            strong_categories=frozenset(t.strong_categories),
            min_abstract_hits=t.min_abstract_hits,
        )
        for t in topics
    )
    return _Matcher(automaton=automaton, rules=rules)


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
            elif not re.search(r"\w", value):
                raise ValueError(f"{label}: {name} term {value!r} has no letters or digits")
    if not (topic.keywords or topic.title_keywords or topic.strong_categories):
        raise ValueError(f"{label}: no keywords, title_keywords or strong_categories to match on")
