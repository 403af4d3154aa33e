"""/api/v1/subscribers: ``like`` on create, and the seeds and votes of a learned profile —
list, add (bad references refused by index, shared titles handed back), remove, reset."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.actions.votes import cast_vote
from service.storage.db import session_scope
from service.storage.models import AuditLog, Delivery, Paper, Seed, Subscriber
from tests.service.web.api.conftest import assert_error

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def papers(settings: Settings, *rows: tuple[str, str]) -> list[int]:
    with session_scope(settings) as session:
        made = [Paper(uid=f"arxiv:{a}", arxiv_id=a, title=t, authors=[], categories=[]) for a, t in rows]
        session.add_all(made)
        session.flush()
        return [p.id for p in made]


def test_create_with_like_stores_the_seeds(client: TestClient, settings: Settings) -> None:
    [known] = papers(settings, ("2406.01234", "FlashAttention-3: Fast and Accurate Attention"))
    response = client.post("/api/v1/subscribers", json={"email": "alice@example.org", "like": [
        "https://arxiv.org/abs/2406.01234v2", "https://huggingface.co/papers/2501.00001", "A Title Not Yet Ingested"]})
    assert response.status_code == 201, response.text
    alice = response.json()["id"]
    seeds = client.get(f"/api/v1/subscribers/{alice}/seeds").json()
    assert [(s["kind"], s["ref"], s["paper_id"]) for s in seeds] == [
        ("arxiv", "2406.01234", known), ("arxiv", "2501.00001", None), ("title", "A Title Not Yet Ingested", None)]
    assert seeds[0]["title"] == "FlashAttention-3: Fast and Accurate Attention"


def test_create_with_a_bad_or_ambiguous_like_creates_nothing(client: TestClient, settings: Settings) -> None:
    bad = assert_error(client.post("/api/v1/subscribers", json={
        "email": "bob@example.org", "like": ["2406.01234", "https://example.com/x"]}), 422, "invalid")
    assert bad["field"] == "body.like.1" and "not an arXiv or Hugging Face paper link" in str(bad["message"])
    papers(settings, ("2401.00001", "Scaling Laws Revisited"), ("2402.00002", "Scaling laws revisited"))
    ambiguous = assert_error(client.post("/api/v1/subscribers", json={
        "email": "bob@example.org", "like": ["Scaling Laws Revisited"]}), 422, "invalid")
    assert "arXiv 2401.00001" in str(ambiguous["message"]) and "arXiv 2402.00002" in str(ambiguous["message"])
    with session_scope(settings) as session:
        assert session.scalars(select(Subscriber)).all() == [] and session.scalars(select(Seed)).all() == []


def test_add_list_remove_seeds_and_settle_an_ambiguous_title(client: TestClient, settings: Settings) -> None:
    sid = client.post("/api/v1/subscribers", json={"email": "carol@example.org"}).json()["id"]
    _, second = papers(settings, ("2401.00001", "Scaling Laws Revisited"), ("2402.00002", "Scaling laws revisited"))
    first = client.post(f"/api/v1/subscribers/{sid}/seeds", json={"like": ["2406.01234", "Scaling Laws Revisited"]})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["added"] == ["arxiv:2406.01234"] and body["already"] == 0
    assert {c["arxiv_id"] for c in body["ambiguous"][0]["choices"]} == {"2401.00001", "2402.00002"}
    settled = client.post(f"/api/v1/subscribers/{sid}/seeds", json={"like": ["arXiv:2406.01234"], "papers": [second]})
    assert settled.json()["added"] == ["arxiv:2402.00002"] and settled.json()["already"] == 1
    seeds = client.get(f"/api/v1/subscribers/{sid}/seeds").json()
    assert [s["ref"] for s in seeds] == ["2406.01234", "2402.00002"]
    assert client.delete(f"/api/v1/subscribers/{sid}/seeds/{seeds[0]['id']}").status_code == 204
    assert_error(client.delete(f"/api/v1/subscribers/{sid}/seeds/{seeds[0]['id']}"), 404, "not_found")
    assert [s["ref"] for s in client.get(f"/api/v1/subscribers/{sid}/seeds").json()] == ["2402.00002"]
    assert_error(client.get("/api/v1/subscribers/999/seeds"), 404, "not_found")
    with session_scope(settings) as session:
        actors = set(session.scalars(select(AuditLog.actor).where(AuditLog.action.like("seeds.%"))))
    assert actors == {"api:tests"}


def test_votes_are_listed_and_reset_forgets_votes_and_seeds(client: TestClient, settings: Settings) -> None:
    sid = client.post("/api/v1/subscribers", json={"email": "dan@example.org", "like": ["2501.00001"]}).json()["id"]
    [paper_id] = papers(settings, ("2406.01234", "A Liked Paper"))
    with session_scope(settings) as session:
        dan = session.get(Subscriber, sid)
        assert dan is not None
        session.add(Delivery(subscriber_id=sid, period="2026-11-26", status="sent", sent_at=NOW, paper_ids=[paper_id]))
        session.flush()
        cast_vote(session, dan, paper_id, 1, "subscriber:test", NOW)
    [vote] = client.get(f"/api/v1/subscribers/{sid}/votes").json()
    assert (vote["paper_id"], vote["arxiv_id"], vote["title"], vote["value"]) == (paper_id, "2406.01234", "A Liked Paper", 1)
    assert client.delete(f"/api/v1/subscribers/{sid}/learned").json() == {"votes_deleted": 1, "seeds_deleted": 1}
    assert client.get(f"/api/v1/subscribers/{sid}/votes").json() == []
    assert client.get(f"/api/v1/subscribers/{sid}/seeds").json() == []
