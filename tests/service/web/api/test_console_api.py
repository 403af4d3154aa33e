"""The API side of the operator's console: the audit and bounce logs (read-only, filtered), token
roles (a viewer token reads, changes nothing and lists no addresses), safe topic deletion (409
with the count), renames, source deletion and private URLs, the subscriber list's topic filter,
and an OpenAPI document that declares formats and enums."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.actions.bounces import log_bounce
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.web.api import api_routes
from tests.service.web.api.conftest import assert_error, new_token


def subscribers(settings: Settings, *rows: tuple[str, list[str]]) -> list[int]:
    with session_scope(settings) as session:
        made = [Subscriber(email=email, status="active", preferences={"topics": topics}) for email, topics in rows]
        session.add_all(made)
        session.flush()
        return [s.id for s in made]


@pytest.fixture
def viewer(app: FastAPI, settings: Settings) -> TestClient:
    token = new_token(settings, "grafana", role="viewer")[1]
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_audit_is_listed_with_filters(settings: Settings, client: TestClient) -> None:
    created = client.post("/api/v1/subscribers", json={"email": "ann@example.org", "confirmed": True}).json()
    client.post(f"/api/v1/subscribers/{created['id']}/status", json={"status": "paused"})
    page = client.get("/api/v1/audit", params={"action": "subscriber.", "target_id": str(created["id"])}).json()
    assert page["total"] == 2 and [e["action"] for e in page["items"]] == ["subscriber.status.paused",
                                                                           "subscriber.create"]
    assert page["items"][0]["actor"] == "api:tests" and page["items"][0]["after"]["status"] == "paused"
    assert client.get("/api/v1/audit", params={"actor": "nobody"}).json()["total"] == 0
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/audit", params={"since": later}).json()["total"] == 0
    assert_error(client.get("/api/v1/audit", params={"since": later, "until": "2020-01-01T00:00:00"}), 422, "invalid")
    assert_error(client.get("/api/v1/audit", params={"actr": "x"}), 422, "invalid")
    assert_error(client.post("/api/v1/audit", json={}), 405, "method_not_allowed")


def test_bounces_are_listed_with_filters(settings: Settings, client: TestClient) -> None:
    with session_scope(settings) as session:
        log_bounce(session, kind="hard", address="a@example.org", source="webhook", detail="ses", outcome="suppressed",
                   diagnostic="550 5.1.1")
        log_bounce(session, kind="complaint", address="b@example.org", source="inbound", outcome="unknown_address")
    everything = client.get("/api/v1/bounces").json()
    assert everything["total"] == 2 and everything["items"][0]["kind"] == "complaint"
    hard = client.get("/api/v1/bounces", params={"kind": "hard"}).json()["items"]
    assert [(b["address"], b["source"], b["diagnostic"]) for b in hard] == [("a@example.org", "webhook", "550 5.1.1")]
    assert_error(client.get("/api/v1/bounces", params={"kind": "bogus"}), 422, "invalid")


def test_a_viewer_token_reads_but_never_changes_or_lists_addresses(settings: Settings, app: FastAPI,
                                                                   viewer: TestClient) -> None:
    [sid] = subscribers(settings, ("ann@example.org", ["llm"]))
    for path in ("/api/v1/topics", "/api/v1/sources", "/api/v1/deliveries", "/api/v1/stats", "/api/v1/audit",
                 f"/api/v1/subscribers/{sid}"):
        assert viewer.get(path).status_code == 200, path
    for path in ("/api/v1/subscribers", "/api/v1/bounces"):
        refused = assert_error(viewer.get(path), 403, "forbidden")
        assert "cannot list subscribers' addresses" in str(refused["message"])
    params = {"subscriber_id": str(sid), "delivery_id": "1", "seed_id": "1", "slug": "llm", "name": "hf-daily"}
    changing = [(m, re.sub(r"\{(\w+)(:\w+)?\}", lambda g: params.get(g.group(1), "x"), path))
                for path, methods in api_routes(app) for m in sorted(methods - {"GET", "HEAD"})]
    assert len(changing) > 10
    for method, url in changing:
        response = viewer.request(method, url, json={})
        error = assert_error(response, 403, "forbidden")
        assert "read-only" in str(error["message"]), url
    with session_scope(settings) as session:
        assert session.scalars(select(AuditLog)).first() is None  # nothing happened


def test_deleting_a_followed_topic_answers_409_with_the_count(settings: Settings, client: TestClient) -> None:
    subscribers(settings, ("a@example.org", ["robotics", "llm"]), ("b@example.org", ["robotics"]))
    assert client.get("/api/v1/topics/robotics").json()["subscribers"] == 2
    refused = assert_error(client.delete("/api/v1/topics/robotics"), 409, "topic_in_use")
    assert refused["count"] == 2 and "then=remove" in str(refused["message"])
    assert client.get("/api/v1/topics/robotics").status_code == 200  # still there
    assert_error(client.delete("/api/v1/topics/robotics", params={"then": "merge"}), 422, "invalid")
    assert_error(client.delete("/api/v1/topics/robotics", params={"then": "merge", "into": "nope"}), 404, "not_found")
    assert client.delete("/api/v1/topics/robotics", params={"then": "merge", "into": "llm"}).status_code == 204
    with session_scope(settings) as session:
        assert sorted(s.preferences["topics"] for s in session.scalars(select(Subscriber))) == [["llm"], ["llm"]]
    assert client.delete("/api/v1/topics/llm", params={"then": "remove"}).status_code == 204
    assert client.get("/api/v1/topics/agents").json()["subscribers"] == 0
    assert client.delete("/api/v1/topics/agents").status_code == 204  # nobody follows it: no question


def test_a_rename_keeps_preferences(settings: Settings, client: TestClient) -> None:
    [sid] = subscribers(settings, ("a@example.org", ["agents"]))
    renamed = client.patch("/api/v1/topics/agents", json={"slug": "ai-agents", "name": "AI agents"})
    assert renamed.status_code == 200 and renamed.json()["slug"] == "ai-agents" and renamed.json()["subscribers"] == 1
    assert client.get(f"/api/v1/subscribers/{sid}").json()["preferences"]["topics"] == ["ai-agents"]
    assert_error(client.patch("/api/v1/topics/ai-agents", json={"slug": "llm"}), 409, "conflict")


def test_subscriber_list_filters_by_topic(settings: Settings, client: TestClient) -> None:
    subscribers(settings, ("a@example.org", ["llm"]), ("b@example.org", ["agents", "llm"]), ("c@example.org", []))
    found = client.get("/api/v1/subscribers", params={"topic": "llm"}).json()
    assert found["total"] == 2 and {s["email"] for s in found["items"]} == {"a@example.org", "b@example.org"}
    assert client.get("/api/v1/subscribers", params={"topic": "agents", "q": "b@"}).json()["total"] == 1
    assert_error(client.get("/api/v1/subscribers", params={"topic": "Not A Slug"}), 422, "invalid")


def test_sources_refuse_private_urls_and_can_be_deleted(settings: Settings, client: TestClient) -> None:
    body = {"name": "meta", "kind": "feed", "url": "http://169.254.169.254/latest/meta-data/"}
    refused = assert_error(client.post("/api/v1/sources", json=body), 422, "invalid")
    assert refused["field"] == "body.url" and "link-local" in str(refused["message"])
    local = {**body, "name": "local", "url": "http://127.0.0.1:9/feed"}
    assert_error(client.post("/api/v1/sources", json=local), 422, "invalid")
    settings.source_allow_private_urls = True
    assert client.post("/api/v1/sources", json=local).status_code == 201
    assert client.delete("/api/v1/sources/local").status_code == 204
    assert_error(client.get("/api/v1/sources/local"), 404, "not_found")
    assert_error(client.delete("/api/v1/sources/hf-daily"), 409, "configured")


def test_the_schema_declares_formats_and_enums(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["SubscriberCreate"]["properties"]["email"]["format"] == "email"
    assert schemas["SubscriberOut"]["properties"]["email"]["format"] == "email"
    assert schemas["SourceCreate"]["properties"]["url"]["format"] == "uri"
    assert schemas["SourceOut"]["properties"]["url"]["format"] == "uri"
    enums = {name: schemas[name]["properties"]["status"].get("enum") for name in ("DeliveryOut", "SubscriberOut")}
    assert "failed" in enums["DeliveryOut"] and "paused" in enums["SubscriberOut"]
    assert "enum" in schemas["SourceOut"]["properties"]["kind"]
    assert schemas["BounceOut"]["properties"]["kind"]["enum"] == ["hard", "soft", "complaint"]


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert len(urls) >= 4 and all(url.startswith("/") for url in urls), urls
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert client.get(f"/docs/assets/{asset}").status_code == 200
