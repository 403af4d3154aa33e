"""Write one batch of parsed papers: insert new ones, merge known ones, classify what changed.

The caller owns the transaction: a poll is one transaction, so a failure half-way leaves
nothing half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from service.ingest.merge import DAY_FIELDS, STORED, day_changes, fold_duplicates, merge_changes, new_row
from service.matching.vectors import is_current, term_counts
from service.storage.models import Paper
from service.papers import PaperIn
from service.topics.store import set_paper_topics, topic_ids
from service.topics.taxonomy import Taxonomy

# Bound on the size of one `uid IN (...)` list: well under SQLite's variable limit.
LOOKUP_CHUNK = 500
# Topics depend on these: a change to any of them re-classifies the paper.
CLASSIFIED_FROM = frozenset({"title", "abstract", "categories", "primary_category"})
# The paper's term counts (its vector, service/matching/vectors.py) depend on these.
VECTORISED_FROM = frozenset({"title", "abstract", "categories"})


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def _as_mapping(paper: Paper) -> dict[str, object]:
    return {name: getattr(paper, name) for name in (*STORED, *DAY_FIELDS, "source_names")}


def existing_by_uid(session: Session, uids: Sequence[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    for start in range(0, len(uids), LOOKUP_CHUNK):
        chunk = uids[start : start + LOOKUP_CHUNK]
        # Topics are not needed to merge: skip the relationship's extra SELECT.
        query = select(Paper).where(Paper.uid.in_(chunk)).options(lazyload(Paper.topics))
        found.update((p.uid, p) for p in session.scalars(query))
    return found


def upsert_papers(
    session: Session,
    papers: Sequence[PaperIn],
    *,
    source_kind: str,
    source_name: str,
    taxonomy: Taxonomy,
    now: datetime,
) -> UpsertCounts:
    counts = UpsertCounts()
    batch = fold_duplicates(list(papers), source_kind)
    known = existing_by_uid(session, [p.uid for p in batch])
    to_classify: list[Paper] = []
    created: list[Paper] = []
    for incoming in batch:
        paper = known.get(incoming.uid)
        if paper is None:
            paper = Paper(**new_row(incoming, source_name, now.date()), first_seen_at=now, updated_at=now)
            paper.term_counts = term_counts(paper.title, paper.abstract or "", paper.categories or ())
            session.add(paper)
            counts.new += 1
            created.append(paper)
            continue
        current = _as_mapping(paper)
        changes = merge_changes(current, incoming, source_kind, source_name)
        if not changes:
            counts.unchanged += 1
            continue
        changes.update(day_changes(current, changes, now))
        for name, value in changes.items():
            setattr(paper, name, value)
        if VECTORISED_FROM & changes.keys() or not is_current(paper.term_counts):
            paper.term_counts = term_counts(paper.title, paper.abstract or "", paper.categories or ())
        paper.updated_at = now
        counts.updated += 1
        if CLASSIFIED_FROM & changes.keys() or paper.taxonomy_version != taxonomy.version:
            to_classify.append(paper)
    session.flush()  # assigns ids to the new papers
    ids = topic_ids(session)
    set_paper_topics(session, created, taxonomy, ids, new=True)
    set_paper_topics(session, to_classify, taxonomy, ids)
    return counts
