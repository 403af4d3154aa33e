"""`preview_ranking`: the ranking a digest would use, as data, on SQLite and PostgreSQL, learning
from votes and seeds on the very next call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import Settings
from service.digests.preview import preview_digest, preview_ranking
from service.ingest.poll import ingest_document
from service.matching.score import PARTS
from service.storage.db import session_scope
from service.storage.models import Paper, Seed, Vote
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY = datetime(2026, 11, 27, 8, tzinfo=UTC)
KV = "We shrink the KV cache of long-context decoding by evicting and quantizing cached keys and values."
PAPERS = [
    hf_item("2611.80001", "KV cache eviction for long contexts", 0, KV),
    hf_item("2611.80002", "Agents that plan with language models", 300, "Agents plan and use tools with LLMs."),
    hf_item("2611.80003", "Robot hands learn from video", 12, "A robot learns dexterous manipulation from video."),
    hf_item("2611.80004", "Quantized KV caches, revisited", 1, "Quantizing the KV cache of decoding: evict keys, quantize values."),
    hf_item("2611.80005", "Diffusion for molecules", 40, "A diffusion model generates molecules."),
]


@pytest.fixture
def world(db_settings: Settings) -> Settings:
    ingest_document(db_settings, hf_json(*PAPERS), source_name="hf-daily", now=THURSDAY)
    with session_scope(db_settings) as session:
        create_subscriber(session, "ann@example.org", Preferences(topics=("agents",), keywords=("robot",)),
                          confirmed=True, now=THURSDAY)
    return db_settings


def ids(ranking: dict) -> list[str]:
    return [p["arxiv_id"] for p in ranking["papers"]]


def paper_id(settings: Settings, arxiv_id: str) -> int:
    with session_scope(settings) as session:
        paper = session.query(Paper).filter_by(arxiv_id=arxiv_id).one()
        return paper.id


def test_the_ranking_as_data_best_first_with_parts_and_reasons(world: Settings) -> None:
    ranking = preview_ranking(world, "ann@example.org", FRIDAY)
    assert ids(ranking) == ["2611.80003", "2611.80002"]  # the keyword beats the popular topic-only paper
    robot, agents = ranking["papers"]
    assert set(robot) >= {"arxiv_id", "title", "score", "parts", "reasons"}
    assert list(robot["parts"]) == list(PARTS) and sum(robot["parts"].values()) == robot["score"]
    assert robot["reasons"] == ["'robot' in the title and abstract"]
    assert "Agents" in agents["reasons"][0] and ": 'agent'" in agents["reasons"][0]  # why it is in the topic
    assert ranking == preview_ranking(world, "ann@example.org", FRIDAY, limit=0)  # no other candidate


def test_a_vote_changes_the_very_next_preview(world: Settings) -> None:
    before = preview_ranking(world, "ann@example.org", FRIDAY, limit=0)
    assert "2611.80004" not in ids(before)
    with session_scope(world) as session:
        from service.subscribers.store import find_by_email

        subscriber = find_by_email(session, "ann@example.org")
        assert subscriber is not None
        session.add(Vote(subscriber_id=subscriber.id, paper_id=paper_id(world, "2611.80001"), value=1))
    after = preview_ranking(world, "ann@example.org", FRIDAY, limit=0)
    assert "2611.80001" not in ids(after)  # voted on: not offered again
    [similar] = [p for p in after["papers"] if p["arxiv_id"] == "2611.80004"]  # in on its likeness alone
    assert similar["parts"]["profile"] >= 2.5
    assert "like 'KV cache eviction for long contexts', which you liked" in similar["reasons"]
    text = preview_digest(world, "ann@example.org", FRIDAY).text  # the email says the same
    assert "Quantized KV caches, revisited" in text and "which you liked" in text
    assert text.count("KV cache eviction for long contexts") == 1  # named as the reason, not sent again


def test_a_seed_waiting_for_its_paper_counts_once_it_is_there(world: Settings) -> None:
    with session_scope(world) as session:
        from service.subscribers.store import find_by_email

        subscriber = find_by_email(session, "ann@example.org")
        assert subscriber is not None
        session.add(Seed(subscriber_id=subscriber.id, kind="arxiv", ref="2611.80001", paper_id=None))
        session.add(Seed(subscriber_id=subscriber.id, kind="title", ref="quantized kv CACHES, revisited", paper_id=None))
    got = ids(preview_ranking(world, "ann@example.org", FRIDAY, limit=0))
    assert "2611.80001" not in got and "2611.80004" not in got  # resolved by id and by title: hidden
