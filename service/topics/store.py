"""The taxonomy in the database: seeded from config/topics.toml, edited by admins, and the
papers' topics kept in step with it (re-classified when its version changes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, event, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.storage.models import Paper, PaperTopic, Topic
from service.topics.taxonomy import Taxonomy, classify, load_taxonomy

# Fields of a taxonomy row that have no column of their own on `topics`.
_RULE_FIELDS = ("strong_categories", "title_keywords", "exclude", "min_abstract_hits")


def topic_row(topic: Topic) -> dict[str, Any]:
    """A `topics` row as the mapping Taxonomy.from_rows takes."""
    return {
        "slug": topic.slug,
        "name": topic.name,
        "description": topic.description,
        "categories": list(topic.categories),
        "keywords": list(topic.keywords),
        **{name: topic.rules[name] for name in _RULE_FIELDS if name in topic.rules},
    }


def current_taxonomy(session: Session) -> Taxonomy:
    """The taxonomy as stored; the shipped default is written on first use."""
    topics = session.scalars(select(Topic).order_by(Topic.position, Topic.id)).all()
    if not topics:
        try:
            with session.begin_nested():
                seed_topics(session, load_taxonomy())
        except IntegrityError:
            pass  # another process seeded it first (web and worker starting together): use theirs
        topics = session.scalars(select(Topic).order_by(Topic.position, Topic.id)).all()
    return _compiled(json.dumps([topic_row(t) for t in topics], sort_keys=True))


@lru_cache(maxsize=8)
def _compiled(rows_json: str) -> Taxonomy:
    """Building a Taxonomy compiles its matcher (~10 ms): once per distinct content per process."""
    return Taxonomy.from_rows(json.loads(rows_json))


def seed_topics(session: Session, taxonomy: Taxonomy) -> None:
    for position, row in enumerate(taxonomy.to_rows()):
        session.add(
            Topic(
                slug=row["slug"],
                name=row["name"],
                description=row["description"],
                categories=row["categories"],
                keywords=row["keywords"],
                rules={name: row[name] for name in _RULE_FIELDS},
                position=position,
            )
        )
    session.flush()


def topic_ids(session: Session) -> dict[str, int]:
    return {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}


def set_paper_topics(
    session: Session, papers: Sequence[Paper], taxonomy: Taxonomy, ids: dict[str, int], *, new: bool = False
) -> None:
    """Classify PAPERS and replace their paper_topics rows (one DELETE and one INSERT per batch;
    NEW papers have no rows yet, so no DELETE)."""
    if not papers:
        return
    rows = []
    for paper in papers:
        for slug in classify(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy):
            rows.append({"paper_id": paper.id, "topic_id": ids[slug]})
        paper.taxonomy_version = taxonomy.version
    if not new:
        session.execute(delete(PaperTopic).where(PaperTopic.paper_id.in_([p.id for p in papers])))
    if rows:
        session.execute(insert(PaperTopic), rows)


# Per database, the taxonomy version this process last brought every paper up to. Papers are
# classified with the current version when stored, so once a sweep for a version committed
# there is nothing stale left, and the sweep (a scan of `papers`) need not run on every poll.
_swept: dict[str, str] = {}


def reclassify_stale(session: Session, taxonomy: Taxonomy, chunk: int = 500) -> int:
    """Re-classify every paper classified under another taxonomy version; returns how many."""
    database = str(session.get_bind().engine.url)
    if _swept.get(database) == taxonomy.version:
        return 0
    ids = topic_ids(session)
    stale = or_(Paper.taxonomy_version.is_(None), Paper.taxonomy_version != taxonomy.version)
    done = 0
    while True:
        papers = session.scalars(select(Paper).where(stale).order_by(Paper.id).limit(chunk)).all()
        if not papers:
            # Only a committed sweep counts: a rolled-back one left the stale rows stale.
            event.listen(session, "after_commit", lambda _s: _swept.__setitem__(database, taxonomy.version), once=True)
            return done
        set_paper_topics(session, papers, taxonomy, ids)
        session.flush()
        done += len(papers)


def papers_per_topic(session: Session) -> dict[str, int]:
    query = select(Topic.slug, func.count(PaperTopic.paper_id)).join(PaperTopic, isouter=True).group_by(Topic.slug)
    return {slug: n for slug, n in session.execute(query)}
