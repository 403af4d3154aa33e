"""How records of one paper from several sources combine into one row (pure).

Each source kind owns the fields it knows best: arXiv owns the bibliographic record (title,
abstract, authors, categories, dates, canonical links), Hugging Face owns the social signal
(upvotes, comments, organisation, code and project links, AI summary). A source may fill any
field that is still empty, may overwrite only the fields it owns, and never erases a value.
``first_seen_at`` is set once on insert and never merged: a re-announcement (arXiv
``replace``) or a re-poll updates metadata without making an old paper new for digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.papers import PaperIn

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
STORED = ("uid", "arxiv_id", "arxiv_version", *BIBLIOGRAPHIC, *SOCIAL)


def owned_fields(source_kind: str) -> frozenset[str]:
    if source_kind in ARXIV_KINDS:
        return frozenset(BIBLIOGRAPHIC)
    if source_kind in HF_KINDS:
        return frozenset(SOCIAL)
    return frozenset()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def new_row(incoming: PaperIn, source_name: str) -> dict[str, Any]:
    """Column values for a paper seen for the first time."""
    row = {name: getattr(incoming, name) for name in STORED}
    row["upvotes"] = incoming.upvotes or 0
    row["source_names"] = [source_name]
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
        if (name in owned or _empty(current.get(name))) and current.get(name) != value:
            changes[name] = value
    # upvotes default to 0 on insert, so "empty" above does not cover them: HF's latest count wins.
    if source_kind in HF_KINDS and incoming.upvotes is not None and incoming.upvotes != current.get("upvotes"):
        changes["upvotes"] = incoming.upvotes
    if incoming.arxiv_version and incoming.arxiv_version > (current.get("arxiv_version") or 0):
        changes["arxiv_version"] = incoming.arxiv_version
    if incoming.arxiv_id and not current.get("arxiv_id"):
        changes["arxiv_id"] = incoming.arxiv_id
    names = list(current.get("source_names") or [])
    if source_name not in names:
        changes["source_names"] = [*names, source_name]
    return changes


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
