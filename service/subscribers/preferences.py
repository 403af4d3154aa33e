"""A subscriber's preferences: one validated pydantic model, stored as JSON per subscriber.

Topics are checked against the taxonomy when the caller passes it as validation context::

    Preferences.model_validate(data, context={"topics": {"llm", "agents", ...}})

Without that context only the slug format is checked. Every error names its field
(pydantic's ``loc``), so the CLI and the web form can say which value is wrong.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from service.matching.text import Term, normalise_author, parse_term

MAX_TERMS = 50
MAX_TERM_CHARS = 100
MAX_AUTHOR_CHARS = 200
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SOURCE_RE = re.compile(r"[a-z0-9][a-z0-9_.:-]*")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clean_terms(values: tuple[str, ...]) -> tuple[str, ...]:
    """Strip quotes and spaces, reject empty/over-long terms, drop case-insensitive repeats."""
    seen: set[Term] = set()
    kept: list[str] = []
    for i, raw in enumerate(values):
        term = " ".join(raw.strip().strip('"').split())
        if not term:
            raise ValueError(f"item {i + 1} is empty")
        if len(term) > MAX_TERM_CHARS:
            raise ValueError(f"item {i + 1} is longer than {MAX_TERM_CHARS} characters: {term[:30]!r}…")
        key = parse_term(term)  # equal keys match the same text (see service.matching.text)
        if key is None:
            raise ValueError(f"item {i + 1} has no letters or digits: {term!r}")
        if key not in seen:
            seen.add(key)
            kept.append(term)
    return tuple(kept)


class Preferences(BaseModel):
    """What a subscriber wants, and when. See issue 4 for the meaning of each field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = Field(default=(), max_length=MAX_TERMS)
    exclude: tuple[str, ...] = Field(default=(), max_length=MAX_TERMS)
    authors: tuple[str, ...] = Field(default=(), max_length=MAX_TERMS)
    min_upvotes: int = Field(default=0, ge=0)
    max_papers: int = Field(default=10, ge=1, le=50)
    sources: tuple[str, ...] = ()  # empty = every source
    frequency: Literal["daily", "weekdays", "weekly"] = "daily"
    weekly_day: Weekday = "mon"
    send_hour: int = Field(default=8, ge=0, le=23)
    timezone: str = "UTC"
    empty_digest: Literal["skip", "notify"] = "skip"

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        allowed = (info.context or {}).get("topics")
        for slug in topics:
            if not SLUG_RE.fullmatch(slug):
                raise ValueError(f"{slug!r} is not a topic slug (lowercase words joined by '-')")
            if allowed is not None and slug not in allowed:
                raise ValueError(f"unknown topic {slug!r}; known topics: {', '.join(sorted(allowed))}")
        return tuple(dict.fromkeys(topics))

    @field_validator("keywords", "exclude")
    @classmethod
    def _terms(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_terms(terms)

    @field_validator("authors")
    @classmethod
    def _authors(cls, authors: tuple[str, ...]) -> tuple[str, ...]:
        kept: dict[str, str] = {}
        for i, raw in enumerate(authors):
            name = " ".join(raw.split())
            if not normalise_author(name):
                raise ValueError(f"item {i + 1} is empty")
            if len(name) > MAX_AUTHOR_CHARS:
                raise ValueError(f"item {i + 1} is longer than {MAX_AUTHOR_CHARS} characters")
            kept.setdefault(normalise_author(name), name)
        return tuple(kept.values())

    @field_validator("sources")
    @classmethod
    def _sources(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        for name in sources:
            if not SOURCE_RE.fullmatch(name) or len(name) > MAX_TERM_CHARS:
                raise ValueError(f"{name!r} is not a source name")
        return tuple(dict.fromkeys(sources))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None
        return name

    @property
    def has_filters(self) -> bool:
        """False for the 'just send me what is trending' subscriber."""
        return bool(self.topics or self.keywords or self.authors)


def split_terms(cells: Iterable[str]) -> list[str]:
    """Keywords from CLI values or CSV cells: ``diffusion; "mixture of experts"`` is two terms.

    ``;`` separates terms unless it is inside double quotes; the quotes themselves go.
    """
    terms: list[str] = []
    for cell in cells:
        cell = " ".join(cell.splitlines())  # csv would read a newline as the end of the row
        for part in next(csv.reader([cell], delimiter=";", skipinitialspace=True), []):
            part = part.strip().strip('"').strip()
            if part:
                terms.append(part)
    return terms
