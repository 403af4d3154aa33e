"""An app on a migrated SQLite database, a live API token and a client that sends it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.admin.api_tokens import create_token
from service.storage.db import session_scope
from service.web.app import create_app


def new_token(settings: Settings, name: str = "tests", role: str = "owner") -> tuple[int, str]:
    with session_scope(settings) as session:
        row, token = create_token(session, name, datetime.now(UTC), role=role)
        return row.id, token



@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A source's host resolves to nothing here (accepted, as an unresolvable host is): no DNS in tests."""
    monkeypatch.setattr("service.actions.sources.resolve_host", lambda host, port: [])


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    migrate.upgrade(settings)
    return create_app(settings)


@pytest.fixture
def token(settings: Settings, app: FastAPI) -> str:
    return new_token(settings)[1]


@pytest.fixture
def client(app: FastAPI, token: str) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    """The one error shape, with this status and code."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]
