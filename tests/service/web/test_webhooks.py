"""POST /webhooks/bounce over HTTP: the shared secret, each format changing the status, and
malformed bodies refused in the API's JSON error shape."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.storage.db import session_scope
from service.digests.plan import active_subscriber_chunks
from service.storage.models import Subscriber
from service.web.app import create_app
from tests.conftest import make_settings
from tests.service.web.api.conftest import assert_error
from tests.service.subscribers.test_bounces import ses_bounce, sns

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def hook_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path / "var", bounce_webhook_secret=SECRET, soft_bounce_limit=2)
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        for name in ("alice", "bob", "carol", "dave"):
            session.add(Subscriber(email=f"{name}@example.org", status="active"))
    return settings


@pytest.fixture
def client(hook_settings: Settings) -> TestClient:
    return TestClient(create_app(hook_settings))


def post(client: TestClient, body: bytes | dict[str, object], **kwargs: object) -> object:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Papermail-Webhook-Secret": SECRET, "Content-Type": "application/json"}
    return client.post("/webhooks/bounce", content=content, **{"headers": headers, **kwargs})  # type: ignore[arg-type]


def status_of(settings: Settings, name: str) -> str:
    with session_scope(settings) as session:
        return session.query(Subscriber).filter_by(email=f"{name}@example.org").one().status


def test_secret_missing_wrong_or_unset(client: TestClient, tmp_path: Path) -> None:
    body = b'{"address": "alice@example.org", "type": "hard"}'
    assert_error(client.post("/webhooks/bounce", content=body), 401, "unauthorized")
    assert_error(client.post("/webhooks/bounce", content=body, headers={"X-Papermail-Webhook-Secret": "nope"}),
                 403, "forbidden")
    assert_error(client.post("/webhooks/bounce?secret=nope", content=body), 403, "forbidden")
    unset = make_settings(tmp_path / "other")
    migrate.upgrade(unset)
    assert_error(TestClient(create_app(unset)).post(f"/webhooks/bounce?secret={SECRET}", content=body),
                 403, "webhook_disabled")


def test_generic_hard_bounce_via_query_secret(client: TestClient, hook_settings: Settings) -> None:
    response = client.post(f"/webhooks/bounce?secret={SECRET}",
                           content=b'{"address": "alice@example.org", "type": "hard", "reason": "550"}')
    assert response.status_code == 200, response.text
    assert response.json()["events"] == [{"address": "alice@example.org", "kind": "hard", "outcome": "suppressed"}]
    assert status_of(hook_settings, "alice") == "suppressed"
    with session_scope(hook_settings) as session:
        planned = [row[0] for chunk in active_subscriber_chunks(session) for row in chunk]
    assert len(planned) == 3  # the planner never takes a suppressed address


def test_ses_via_sns_with_basic_auth(client: TestClient, hook_settings: Settings) -> None:
    basic = "Basic " + base64.b64encode(f"sns:{SECRET}".encode()).decode()
    response = client.post("/webhooks/bounce", content=sns(ses_bounce("Permanent", "bob@example.org")),
                           headers={"Authorization": basic, "Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    assert status_of(hook_settings, "bob") == "suppressed"
    confirmation = post(client, {"Type": "SubscriptionConfirmation", "TopicArn": "arn:t",
                                 "SubscribeURL": "https://sns.example/confirm"})
    assert confirmation.json()["events"] == [] and "https://sns.example/confirm" in confirmation.json()["notice"]  # type: ignore[attr-defined]


def test_postmark_complaint_and_soft_bounces(client: TestClient, hook_settings: Settings) -> None:
    post(client, {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "carol@example.org"})
    assert status_of(hook_settings, "carol") == "suppressed"
    soft = {"RecordType": "Bounce", "Type": "SoftBounce", "Email": "dave@example.org", "Description": "full"}
    assert post(client, soft).json()["events"][0]["outcome"] == "counted"  # type: ignore[attr-defined]
    assert status_of(hook_settings, "dave") == "active"
    assert post(client, soft).json()["events"][0]["outcome"] == "suppressed"  # type: ignore[attr-defined]
    assert status_of(hook_settings, "dave") == "suppressed"


@pytest.mark.parametrize("body", [b"", b"{", b'{"address": "alice@example.org"}', b"[]"])
def test_malformed_bodies_are_400(client: TestClient, hook_settings: Settings, body: bytes) -> None:
    error = assert_error(post(client, body), 400, "malformed")
    assert error["field"] == "body"
    assert status_of(hook_settings, "alice") == "active"


def test_oversized_body_is_413(client: TestClient) -> None:
    assert_error(post(client, b"[" + b" " * (1024 * 1024 + 1) + b"]"), 413, "too_large")
