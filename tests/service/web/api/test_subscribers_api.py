"""/api/v1/subscribers: create, search, page, edit, status changes, erase — each audited."""

from __future__ import annotations

from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import AuditLog
from tests.service.web.api.conftest import assert_error


def create(client: TestClient, email: str, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/subscribers", json={"email": email, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_is_pending_unless_confirmed(client: TestClient) -> None:
    alice = create(client, "Alice@Example.org", preferences={"topics": ["llm"], "keywords": ["diffusion"]})
    assert alice["email"] == "alice@example.org"
    assert alice["status"] == "pending" and alice["confirmed_at"] is None
    assert alice["preferences"]["topics"] == ["llm"]  # type: ignore[index]
    bob = create(client, "bob@example.org", confirmed=True)
    assert bob["status"] == "active" and bob["confirmed_at"] is not None


def test_create_refuses_duplicates_unknown_topics_and_bad_addresses(client: TestClient) -> None:
    create(client, "alice@example.org")
    duplicate = assert_error(client.post("/api/v1/subscribers", json={"email": "ALICE@example.org"}), 409, "duplicate")
    assert duplicate["field"] == "body.email"
    topic = assert_error(client.post("/api/v1/subscribers", json={
        "email": "bob@example.org", "preferences": {"topics": ["no-such-topic"]}}), 422, "invalid")
    assert topic["field"] == "body.preferences.topics" and "no-such-topic" in str(topic["message"])
    address = assert_error(client.post("/api/v1/subscribers", json={"email": "not an address"}), 422, "invalid")
    assert address["field"] == "body.email"
    # The edge guard refuses a NUL anywhere in the body before any handler reads it.
    nul = assert_error(client.post("/api/v1/subscribers", json={"email": "a\u0000@example.org"}), 400, "bad_request")
    assert "NUL" in str(nul["message"])


def test_search_filter_sort_and_page(client: TestClient) -> None:
    for name in ("carol", "alice", "bob", "alicia"):
        create(client, f"{name}@example.org", confirmed=name != "bob")
    page = client.get("/api/v1/subscribers", params={"q": "ALI", "sort": "email"}).json()
    assert [s["email"] for s in page["items"]] == ["alice@example.org", "alicia@example.org"]
    assert page["total"] == 2
    pending = client.get("/api/v1/subscribers", params={"status": "pending"}).json()
    assert [s["email"] for s in pending["items"]] == ["bob@example.org"]
    first = client.get("/api/v1/subscribers", params={"limit": 3, "sort": "-email"}).json()
    second = client.get("/api/v1/subscribers", params={"limit": 3, "offset": 3, "sort": "-email"}).json()
    assert first["total"] == second["total"] == 4
    assert [s["email"] for s in first["items"] + second["items"]] == sorted(
        ["carol@example.org", "alice@example.org", "bob@example.org", "alicia@example.org"], reverse=True)
    # LIKE wildcards in the search are literal.
    assert client.get("/api/v1/subscribers", params={"q": "%"}).json()["total"] == 0


def test_patch_merges_preferences_and_checks_them(client: TestClient, settings: Settings) -> None:
    alice = create(client, "alice@example.org", preferences={"topics": ["llm"], "send_hour": 9})
    url = f"/api/v1/subscribers/{alice['id']}"
    changed = client.patch(url, json={"preferences": {"keywords": ["mixture of experts"], "timezone": "Europe/Paris"}})
    assert changed.status_code == 200, changed.text
    prefs = changed.json()["preferences"]
    assert (prefs["topics"], prefs["send_hour"], prefs["keywords"], prefs["timezone"]) == (
        ["llm"], 9, ["mixture of experts"], "Europe/Paris")
    bad = assert_error(client.patch(url, json={"preferences": {"timezone": "Mars/Base"}}), 422, "invalid")
    assert bad["field"] == "body.preferences.timezone"
    create(client, "bob@example.org")
    assert_error(client.patch(url, json={"email": "bob@example.org"}), 409, "duplicate")
    assert client.patch(url, json={"email": "alice.new@example.org"}).json()["email"] == "alice.new@example.org"
    with session_scope(settings) as session:
        entries = session.query(AuditLog).filter_by(action="subscriber.update").all()
        assert entries[0].actor == "api:tests"
        assert entries[0].after["preferences"]["keywords"] == ["mixture of experts"]  # type: ignore[index]


def test_status_changes_and_lifting_a_suppression(client: TestClient) -> None:
    alice = create(client, "alice@example.org")
    url = f"/api/v1/subscribers/{alice['id']}/status"
    suppressed = client.post(url, json={"status": "suppressed", "reason": "asked by phone"}).json()
    assert (suppressed["status"], suppressed["suppressed_reason"]) == ("suppressed", "asked by phone")
    lifted = client.post(url, json={"status": "active"}).json()
    assert (lifted["status"], lifted["suppressed_reason"], lifted["soft_bounces"]) == ("active", None, 0)
    assert lifted["confirmed_at"] is not None  # the admin attests consent
    gone = client.post(url, json={"status": "unsubscribed"}).json()
    assert gone["status"] == "unsubscribed" and gone["unsubscribed_at"] is not None
    assert_error(client.post(url, json={"status": "erased"}), 422, "invalid")


def test_delete_erases_and_the_tombstone_cannot_be_edited(client: TestClient) -> None:
    alice = create(client, "alice@example.org", preferences={"keywords": ["secret hobby"]})
    url = f"/api/v1/subscribers/{alice['id']}"
    report = client.delete(url)
    assert report.status_code == 200 and report.json()["subscriber_id"] == alice["id"]
    tombstone = client.get(url).json()
    assert tombstone["status"] == "erased" and "alice" not in tombstone["email"]
    assert tombstone["preferences"]["keywords"] == []
    assert_error(client.patch(url, json={"preferences": {"send_hour": 3}}), 409, "conflict")
    assert_error(client.delete(url), 409, "conflict")
    assert client.get("/api/v1/subscribers", params={"q": "alice"}).json()["total"] == 0
