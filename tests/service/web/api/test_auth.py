"""Every /api/v1 route refuses anonymous callers, wrong tokens and revoked tokens, before it
reads anything; a live token passes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.settings import Settings
from service.admin.api_tokens import revoke_token
from service.storage.db import session_scope
from service.storage.models import ApiToken
from service.web.api import api_routes
from tests.service.web.api.conftest import assert_error, new_token

# A value for each path parameter: the route must refuse before it looks the row up.
PARAMS = {"subscriber_id": "1", "delivery_id": "1", "seed_id": "1", "slug": "llm", "name": "hf-daily",
          "ref": "2401.00001"}


def calls(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, methods in api_routes(app):
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m.group(1)], path)
        found.extend((method, url) for method in sorted(methods - {"HEAD"}))
    return found


def test_the_walk_covers_every_documented_operation(app: FastAPI) -> None:
    documented = {(method.upper(), path) for path, item in app.openapi()["paths"].items()
                  if path.startswith("/api/v1") for method in item}
    # OpenAPI writes a path parameter without its converter ({ref:path} is {ref}).
    walked = {(method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)) for path, methods in api_routes(app)
              for method in methods - {"HEAD"}}
    assert walked == documented
    assert len(walked) >= 20


def test_every_route_refuses_anonymous_wrong_and_revoked_tokens(app: FastAPI, settings: Settings) -> None:
    revoked_id, revoked = new_token(settings, "old")
    with session_scope(settings) as session:
        revoke_token(session, revoked_id, datetime.now(UTC))
    live = new_token(settings, "live")[1]
    credentials = {
        "anonymous": {},
        "wrong": {"Authorization": "Bearer pm_" + "x" * 43},
        "malformed": {"Authorization": "Bearer"},
        "basic": {"Authorization": f"Basic {live}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
    }
    client = TestClient(app)
    for method, url in calls(app):
        for label, headers in credentials.items():
            # A body that would be valid JSON: auth must come first, not body validation.
            response = client.request(method, url, headers=headers, json={} if method in ("POST", "PATCH") else None)
            error = assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer"), (label, method, url)
            assert "token" in str(error["message"])


def test_a_live_token_is_let_in_and_its_use_recorded(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/v1/stats").status_code == 200
    with session_scope(settings) as session:
        row = session.query(ApiToken).one()
        assert row.last_used_at is not None


def test_a_token_revoked_while_in_use_stops_working(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/v1/topics").status_code == 200
    with session_scope(settings) as session:
        revoke_token(session, session.query(ApiToken).one().id, datetime.now(UTC))
    assert_error(client.get("/api/v1/topics"), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/v1/no-such-thing", 404, "not_found"),
    ("PUT", "/api/v1/stats", 405, "method_not_allowed"),
    ("GET", "/api/v1/subscribers?limit=0", 422, "invalid"),
    ("GET", "/api/v1/subscribers/0", 422, "invalid"),
    ("GET", "/api/v1/subscribers/99", 404, "not_found"),
    ("GET", "/api/v1/subscribers?stauts=active", 422, "invalid"),  # a mistyped filter is not ignored
])
def test_errors_share_one_shape(client: TestClient, method: str, path: str, status: int, code: str) -> None:
    assert_error(client.request(method, path), status, code)


def test_malformed_json_is_a_422_in_the_same_shape(client: TestClient) -> None:
    response = client.post("/api/v1/subscribers", content=b"{not json", headers={"Content-Type": "application/json"})
    error = assert_error(response, 422, "invalid")
    assert error["details"]
