"""Topic changes and re-classification at the same time, in threads with connections of their
own, as an admin editing topics while the background re-classification and an ingest run: no
error in any of them, and once they are done every paper's topics are what the final taxonomy
says. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.topics import add_topic, delete_topic
from service.ingest.poll import ingest_document
from service.storage.db import session_scope
from service.storage.models import Paper, PaperTopic, Topic
from service.topics import store
from service.topics.store import current_taxonomy, reclassify_stale
from service.topics.taxonomy import classify
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

WORDS = ["robot", "quantization", "speech", "agents", "diffusion", "retrieval", "graph", "protein"]
ROUNDS = 12


def papers(first: int, count: int) -> bytes:
    items = [hf_item(f"2611.{first + n:05d}", f"{WORDS[n % len(WORDS)].title()} models number {first + n}", n,
                     f"We study {WORDS[(n * 3) % len(WORDS)]} and {WORDS[(n * 5) % len(WORDS)]} at scale.")
             for n in range(count)]
    return hf_json(*items)


def reclassify(settings: Settings) -> None:
    """What the admin page and the API run in the background after a change."""
    with session_scope(settings) as session:
        reclassify_stale(session, current_taxonomy(session))


def change_topics(settings: Settings, round_: int) -> None:
    """Delete the topic the previous round added, add another (each its own transaction)."""
    with session_scope(settings) as session:
        current_taxonomy(session)  # seeds the shipped taxonomy on first use
        old = session.scalars(select(Topic).where(Topic.slug == f"extra-{round_ - 1}")).one_or_none()
        if old is not None:
            delete_topic(session, old, actor="test")
    with session_scope(settings) as session:
        word = WORDS[round_ % len(WORDS)]
        add_topic(session, f"extra-{round_}", {"name": f"Extra {round_}", "keywords": [word]}, actor="test")


def run_together(jobs: dict[str, Callable[[], None]]) -> dict[str, BaseException]:
    errors: dict[str, BaseException] = {}
    start = threading.Barrier(len(jobs))

    def runner(name: str, job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - every failure is the test's finding
            errors[name] = exc

    threads = [threading.Thread(target=runner, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def test_topic_changes_and_reclassification_in_parallel(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_document(db_settings, papers(10000, 150), source_name="hf-daily", now=datetime.now(UTC))
    # every sweep scans, as in a process that has not swept this version yet
    monkeypatch.setattr(store, "_swept", {})

    def editor() -> None:
        for round_ in range(ROUNDS):
            change_topics(db_settings, round_)

    def sweeper() -> None:
        for _ in range(ROUNDS * 2):
            store._swept.clear()
            reclassify(db_settings)

    def ingester() -> None:
        for n in range(ROUNDS):
            ingest_document(db_settings, papers(20000 + n * 10, 10), source_name="hf-daily", now=datetime.now(UTC))

    errors = run_together({"editor": editor, "sweeper-1": sweeper, "sweeper-2": sweeper, "ingester": ingester})
    assert errors == {}

    store._swept.clear()
    reclassify(db_settings)
    with session_scope(db_settings) as session:
        taxonomy = current_taxonomy(session)
        slug_of = {topic_id: slug for topic_id, slug in session.execute(select(Topic.id, Topic.slug))}
        stored: dict[int, set[str]] = {}
        for paper_id, topic_id in session.execute(select(PaperTopic.paper_id, PaperTopic.topic_id)):
            stored.setdefault(paper_id, set()).add(slug_of[topic_id])
        all_papers = session.scalars(select(Paper)).all()
        assert len(all_papers) == 150 + ROUNDS * 10
        for paper in all_papers:
            expected = set(classify(paper.title, paper.abstract, paper.categories, paper.primary_category, taxonomy))
            assert stored.get(paper.id, set()) == expected, paper.title
            assert paper.taxonomy_version == taxonomy.version
        assert f"extra-{ROUNDS - 1}" in taxonomy.slugs and "extra-0" not in taxonomy.slugs
