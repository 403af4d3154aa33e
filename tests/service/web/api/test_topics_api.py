"""/api/v1/topics: a change is validated as a whole taxonomy and re-classifies the papers."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Paper, PaperTopic, Topic
from service.topics.store import current_taxonomy, reclassify_stale
from tests.service.web.api.conftest import assert_error


def add_paper(settings: Settings, title: str) -> int:
    with session_scope(settings) as session:
        paper = Paper(uid=f"test:{title}", title=title, abstract="", authors=[], categories=[],
                      first_seen_at=datetime.now(UTC))
        session.add(paper)
        session.flush()
        reclassify_stale(session, current_taxonomy(session))
        return paper.id


def topics_of(settings: Settings, paper_id: int) -> set[str]:
    with session_scope(settings) as session:
        query = (select(Topic.slug).join(PaperTopic, PaperTopic.topic_id == Topic.id)
                 .where(PaperTopic.paper_id == paper_id))
        return set(session.scalars(query))


def test_list_read_and_counts(client: TestClient) -> None:
    topics = client.get("/api/v1/topics").json()
    assert "llm" in [t["slug"] for t in topics]
    llm = client.get("/api/v1/topics/llm").json()
    assert llm["name"] and llm["keywords"] and llm["papers"] == 0
    assert_error(client.get("/api/v1/topics/no-such-topic"), 404, "not_found")


def test_create_update_delete_reclassify_papers(client: TestClient, settings: Settings) -> None:
    paper = add_paper(settings, "Quantum annealing schedules for combinatorial search")
    assert "quantum" not in topics_of(settings, paper)

    quantum = {"slug": "quantum", "name": "Quantum", "keywords": ["quantum annealing"]}
    created = client.post("/api/v1/topics", json=quantum)
    assert created.status_code == 201, created.text
    assert "quantum" in topics_of(settings, paper)  # the background task ran after the response
    assert client.get("/api/v1/topics/quantum").json()["papers"] == 1

    changed = client.patch("/api/v1/topics/quantum", json={"keywords": ["qubit"], "name": "Quantum computing"})
    assert changed.json()["name"] == "Quantum computing"
    assert "quantum" not in topics_of(settings, paper)

    assert client.delete("/api/v1/topics/quantum").status_code == 204
    assert_error(client.get("/api/v1/topics/quantum"), 404, "not_found")


def test_changes_that_would_break_the_taxonomy_are_refused(client: TestClient) -> None:
    again = {"slug": "llm", "name": "Again", "keywords": ["x"]}
    assert_error(client.post("/api/v1/topics", json=again), 409, "conflict")
    # A topic with nothing to match on would never classify anything: refused, not stored.
    empty = assert_error(client.post("/api/v1/topics", json={"slug": "empty", "name": "Empty"}), 422, "invalid")
    assert "no keywords" in str(empty["message"])
    bad_category = client.patch("/api/v1/topics/llm", json={"categories": ["not a category!"]})
    assert_error(bad_category, 422, "invalid")
    assert client.get("/api/v1/topics/empty").status_code == 404
    assert "not a category!" not in client.get("/api/v1/topics/llm").json()["categories"]


def test_the_last_topic_cannot_be_deleted(client: TestClient) -> None:
    slugs = [t["slug"] for t in client.get("/api/v1/topics").json()]
    for slug in slugs[:-1]:
        assert client.delete(f"/api/v1/topics/{slug}").status_code == 204
    assert_error(client.delete(f"/api/v1/topics/{slugs[-1]}"), 409, "conflict")
