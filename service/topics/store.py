"""The taxonomy in the database: seeded from config/topics.toml, edited by admins, and the
papers' topics kept in step with it (re-classified when its version changes)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, event, exists, func, insert, or_, select
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


def held_topic_ids(session: Session) -> dict[str, int]:
    """{slug: id} of the topics as they stand, none of which can be deleted before this
    transaction ends: on PostgreSQL each row is locked FOR KEY SHARE (which edits of a topic do
    not wait for; a delete does, and a delete already under way is waited for and its topic left
    out); on SQLite, whose writers take turns, the caller has written already, so no other
    writer can come between this read and its commit."""
    query = select(Topic.slug, Topic.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return {slug: id_ for slug, id_ in session.execute(query)}


def set_paper_topics(
    session: Session, papers: Sequence[Paper], taxonomy: Taxonomy, ids: Mapping[str, int] | None = None,
    *, new: bool = False,
) -> dict[str, int]:
    """Classify PAPERS and replace their paper_topics rows (one DELETE and one INSERT per batch;
    NEW papers have no rows yet, so no DELETE). Returns the topic ids it used.

    Topics are looked up (and held, see held_topic_ids) here, not taken from IDS: a topic
    deleted since IDS was read would fail the insert's foreign key, and a slug of TAXONOMY that
    no longer exists is left out (the version stamped on the papers is then an old one, so the
    next sweep classifies them again). On PostgreSQL the topics are held before this
    transaction touches paper_topics, the order a topic's delete takes them in too: the two
    wait for each other instead of deadlocking."""
    return _replace_topics(session, papers, taxonomy, None, new=new)


def _replace_topics(session: Session, papers: Sequence[Paper], taxonomy: Taxonomy, held: dict[str, int] | None,
                    *, new: bool) -> dict[str, int]:
    """set_paper_topics, with HELD the topics this transaction holds already (a sweep's later
    chunks: locking again could wait on a topic's delete that waits on this transaction)."""
    if not papers:
        return held or {}
    live = held
    if live is None and session.get_bind().dialect.name == "postgresql":
        live = held_topic_ids(session)
    if not new:
        session.execute(delete(PaperTopic).where(PaperTopic.paper_id.in_([p.id for p in papers])))
    if live is None:
        live = held_topic_ids(session)
    rows = []
    for paper in papers:
        for slug in classify(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy):
            if slug in live:
                rows.append({"paper_id": paper.id, "topic_id": live[slug]})
        paper.taxonomy_version = taxonomy.version
    if rows:
        session.execute(insert(PaperTopic), rows)
    return live


# Per database, the taxonomy version this process last brought every paper up to. Papers are
# classified with the current version when stored, so once a sweep for a version committed
# there is nothing stale left, and the sweep (a scan of `papers`) need not run on every poll.
_swept: dict[str, str] = {}


def reclassify_stale(session: Session, taxonomy: Taxonomy, chunk: int = 500) -> int:
    """Re-classify every paper classified under another taxonomy version; returns how many.

    Safe beside topic edits, ingests and other sweeps: papers another transaction holds are
    skipped, not waited for (it classifies them itself, or the next sweep does), so two sweeps
    never replace the same paper's topics at once and never wait on each other in a cycle."""
    database = str(session.get_bind().engine.url)
    if _swept.get(database) == taxonomy.version:
        return 0
    stale = or_(Paper.taxonomy_version.is_(None), Paper.taxonomy_version != taxonomy.version)
    pending = select(Paper).where(stale).order_by(Paper.id).limit(chunk).with_for_update(skip_locked=True)
    done = 0
    held: dict[str, int] | None = None
    while papers := session.scalars(pending).all():
        held = _replace_topics(session, papers, taxonomy, held, new=False)
        session.flush()
        done += len(papers)
    if session.scalar(select(exists().where(stale))):
        return done  # some were held by another transaction: not all are done
    # Only a committed sweep counts: a rolled-back one left the stale rows stale.
    event.listen(session, "after_commit", lambda _s: _swept.__setitem__(database, taxonomy.version), once=True)
    return done


def papers_per_topic(session: Session) -> dict[str, int]:
    query = select(Topic.slug, func.count(PaperTopic.paper_id)).join(PaperTopic, isouter=True).group_by(Topic.slug)
    return {slug: n for slug, n in session.execute(query)}
