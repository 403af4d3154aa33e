"""The normalised paper record every source produces: bytes in, ``PaperIn`` out.

Sources are pure: they parse bytes into ``ParseResult`` and never touch the network or
the database. ``service.ingest`` upserts the records.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class PaperIn(BaseModel):
    """One paper as a source reported it, already normalised (UTC, plain text, bare ids)."""

    model_config = ConfigDict(frozen=True)

    # "arxiv:<bare id>" for arXiv papers (the cross-source dedupe key), else "<source kind>:<guid>".
    uid: str
    arxiv_id: str | None = None  # bare id: "2511.01234" or "hep-th/9901001"
    arxiv_version: int | None = None
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None  # timezone-aware UTC
    updated_at: datetime | None = None
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    hf_url: str | None = None  # https://huggingface.co/papers/<id> when the paper was on HF
    upvotes: int | None = None
    num_comments: int | None = None
    organization: str | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    announce_type: str | None = None  # arXiv RSS: new | cross | replace | replace-cross
    # The day the source announced the paper (HF's daily date, arXiv's announcement date, a
    # feed's published date): the day it belongs to, and what a digest's "new" is measured on.
    announced_on: date | None = None


class ItemError(BaseModel):
    """An item a source could not turn into a paper, with the reason (kept, reported, not fatal)."""

    model_config = ConfigDict(frozen=True)

    index: int  # position of the item in the feed, 0-based; -1 for the document itself
    reason: str
    ident: str | None = None  # whatever identified the item (guid, link, id), when known


class ParseResult(BaseModel):
    """What parsing one response produced: good papers, rejected items, document warnings."""

    papers: list[PaperIn] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)
    # Set when the document itself parsed only partly (feedparser's bozo) but still gave items.
    warning: str | None = None


class SourceError(Exception):
    """The response as a whole is unusable (not a feed, not JSON, an HTML error page...)."""
