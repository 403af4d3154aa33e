"""Loading profiles for a batch: one query for every vote and seed, old rows' term counts filled
once, and "what papermail learned" for the preferences page; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from config.settings import Settings
from service.ingest.poll import ingest_document
from service.matching.profiles import load_profiles, top_profile_terms
from service.matching.records import Profile
from service.matching.vectors import COUNTS_VERSION
from service.storage.db import get_engine, session_scope
from service.storage.models import Paper, Seed, Vote
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
PAPERS = [
    hf_item("2611.90001", "KV cache eviction", 0, "We evict entries of the KV cache during long-context decoding."),
    hf_item("2611.90002", "Robot hands", 0, "A robot learns dexterous manipulation from video."),
    hf_item("2611.90003", "Music tagging", 0, "We tag songs by genre from audio spectrograms."),
]


@pytest.fixture
def world(db_settings: Settings) -> tuple[Settings, list[int], dict[str, int]]:
    ingest_document(db_settings, hf_json(*PAPERS), source_name="hf-daily", now=THURSDAY)
    with session_scope(db_settings) as session:
        readers = [create_subscriber(session, f"r{i}@example.org", Preferences(), confirmed=True, now=THURSDAY).id
                   for i in range(3)]
        papers = {p.arxiv_id or "": p.id for p in session.scalars(select(Paper))}
        session.add_all([
            Vote(subscriber_id=readers[0], paper_id=papers["2611.90001"], value=1),
            Vote(subscriber_id=readers[0], paper_id=papers["2611.90002"], value=-1),
            Seed(subscriber_id=readers[1], kind="arxiv", ref="2611.90003", paper_id=None),
            Seed(subscriber_id=readers[1], kind="title", ref="robot HANDS", paper_id=None),
            Seed(subscriber_id=readers[1], kind="arxiv", ref="2699.00000", paper_id=None),  # not ingested yet
        ])
    return db_settings, readers, papers


def test_one_query_loads_every_vote_and_seed_of_a_batch(world: tuple[Settings, list[int], dict[str, int]]) -> None:
    settings, readers, papers = world
    statements: list[str] = []
    engine = get_engine(settings)
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with session_scope(settings) as session:
            profiles = load_profiles(session, readers)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert profiles.get(readers[0]) == Profile(liked=(papers["2611.90001"],), disliked=(papers["2611.90002"],))
    assert set(profiles.get(readers[1]).seeds) == {papers["2611.90003"], papers["2611.90002"]}
    assert profiles.get(readers[2]).empty
    assert set(profiles.papers) == set(papers.values())


def test_rows_without_term_counts_get_them_once(world: tuple[Settings, list[int], dict[str, int]]) -> None:
    settings, readers, papers = world
    with session_scope(settings) as session:
        session.execute(update(Paper).values(term_counts=None))
    with session_scope(settings) as session:
        profiles = load_profiles(session, readers)
        assert profiles.papers[papers["2611.90001"]].term_counts is not None
    with session_scope(settings) as session:
        stored = session.scalars(select(Paper.term_counts)).all()
        assert all(c is not None and c["v"] == COUNTS_VERSION and c["counts"] for c in stored)


def test_what_papermail_learned(world: tuple[Settings, list[int], dict[str, int]]) -> None:
    settings, readers, _ = world
    with session_scope(settings) as session:
        terms = [t for t, _ in top_profile_terms(session, readers[0], THURSDAY - timedelta(days=7), limit=6)]
        assert "kv cache" in terms and "robot" not in terms
        assert top_profile_terms(session, readers[2], THURSDAY - timedelta(days=7)) == []
