"""How records of one paper from several sources combine into one row (pure).

Each source kind owns the fields it knows best: arXiv owns the bibliographic record (title,
abstract, authors, categories, dates, canonical links), Hugging Face owns the social signal
(upvotes, comments, organisation, code and project links, AI summary). A source may fill any
field that is still empty, may overwrite only the fields it owns, and never erases a value.
``first_seen_at`` is set once on insert and never merged: a re-announcement (arXiv
``replace``) or a re-poll updates metadata without making an old paper new for digests.

The paper's day, ``announced_on``, is the earliest day any source announced it: a later
announcement (arXiv ``replace``, Hugging Face featuring an arXiv paper days later) never moves
it. What the paper had on that day is kept apart from what it gains after (``day_changes``):
its upvotes when the day ended, and when a code link first appeared after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from service.papers import PaperIn
from service.sources.latex import readable

ARXIV_KINDS = frozenset({"arxiv_rss", "arxiv_api"})
HF_KINDS = frozenset({"hf_daily"})

BIBLIOGRAPHIC = (
    "title", "abstract", "authors", "categories", "primary_category", "published_at", "abs_url", "pdf_url",
)
SOCIAL = (
    "upvotes", "num_comments", "organization", "github_repo", "github_stars", "project_page",
    "thumbnail", "ai_summary", "ai_keywords", "hf_url",
)
# Every PaperIn field stored on `papers`, in one place.
STORED = ("uid", "arxiv_id", "arxiv_version", *BIBLIOGRAPHIC, *SOCIAL, "announced_on")
# The row's own record of its day (not PaperIn fields): see day_changes.
DAY_FIELDS = ("day_upvotes", "code_added_at")
# Text that sources now store with its LaTeX made readable; rows stored before keep the raw
# text until a source sends the same text cleaned (see merge_changes).
CLEANED = frozenset({"title", "abstract", "ai_summary"})


def owned_fields(source_kind: str) -> frozenset[str]:
    if source_kind in ARXIV_KINDS:
        return frozenset(BIBLIOGRAPHIC)
    if source_kind in HF_KINDS:
        return frozenset(SOCIAL)
    return frozenset()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def new_row(incoming: PaperIn, source_name: str, today: date | None = None) -> dict[str, Any]:
    """Column values for a paper seen for the first time. A source that gave no day (an undated
    feed item) dates it TODAY, the day it was first seen: the best that is known."""
    row = {name: getattr(incoming, name) for name in STORED}
    row["upvotes"] = incoming.upvotes or 0
    row["source_names"] = [source_name]
    row["announced_on"] = incoming.announced_on or today
    # Whatever a paper has when first seen counts as its day's: a backfill is never news.
    row["day_upvotes"] = row["upvotes"]
    return row


def merge_changes(
    current: Mapping[str, Any], incoming: PaperIn, source_kind: str, source_name: str
) -> dict[str, Any]:
    """The column values to change on an existing row; empty when nothing changes."""
    owned = owned_fields(source_kind)
    changes: dict[str, Any] = {}
    for name in (*BIBLIOGRAPHIC, *SOCIAL):
        value = getattr(incoming, name)
        if _empty(value):
            continue
        stored = current.get(name)
        if stored == value:
            continue
        if name in owned or _empty(stored) or (name in CLEANED and readable(stored) == value):
            changes[name] = value
    # upvotes default to 0 on insert, so "empty" above does not cover them: HF's latest count wins.
    if source_kind in HF_KINDS and incoming.upvotes is not None and incoming.upvotes != current.get("upvotes"):
        changes["upvotes"] = incoming.upvotes
    if incoming.arxiv_version and incoming.arxiv_version > (current.get("arxiv_version") or 0):
        changes["arxiv_version"] = incoming.arxiv_version
    if incoming.arxiv_id and not current.get("arxiv_id"):
        changes["arxiv_id"] = incoming.arxiv_id
    day = current.get("announced_on")
    if incoming.announced_on and (day is None or incoming.announced_on < day):
        changes["announced_on"] = incoming.announced_on
    names = list(current.get("source_names") or [])
    if source_name not in names:
        changes["source_names"] = [*names, source_name]
    return changes


def day_changes(current: Mapping[str, Any], changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What CHANGES (from ``merge_changes``) mean for the row's record of its day, at NOW:
    while the paper's day lasts (UTC) its day's upvotes follow its upvotes; once it is over they
    stay, so a later rise is news. A code link where there was none, after the day, is dated."""
    day = changes.get("announced_on", current.get("announced_on"))
    on_its_day = day is None or now.date() <= day
    out: dict[str, Any] = {}
    if "upvotes" in changes and (on_its_day or current.get("day_upvotes") is None):
        out["day_upvotes"] = changes["upvotes"]
    had_code = not _empty(current.get("github_repo"))
    if changes.get("github_repo") and not had_code and not on_its_day and current.get("code_added_at") is None:
        out["code_added_at"] = now
    return out


def fold_duplicates(papers: list[PaperIn], source_kind: str) -> list[PaperIn]:
    """One record per uid within a batch (a feed may list a paper twice): later fills earlier."""
    by_uid: dict[str, PaperIn] = {}
    for paper in papers:
        seen = by_uid.get(paper.uid)
        if seen is None:
            by_uid[paper.uid] = paper
            continue
        changes = merge_changes(seen.model_dump(), paper, source_kind, "")
        changes.pop("source_names", None)
        by_uid[paper.uid] = seen.model_copy(update=changes)
    return list(by_uid.values())
