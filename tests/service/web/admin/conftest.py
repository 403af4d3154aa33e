"""An app on a migrated SQLite database with one admin, and a client signed in as them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.admin.users import create_admin
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.web.app import create_app

BASE = "http://papermail.test"
ADMIN_EMAIL = "root@example.org"
ADMIN_PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')




@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A source's host resolves to nothing here (accepted, as an unresolvable host is): no DNS in tests."""
    monkeypatch.setattr("service.actions.sources.resolve_host", lambda host, port: [])


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        create_admin(session, ADMIN_EMAIL, ADMIN_PASSWORD, datetime.now(UTC))
    return create_app(settings)


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def login(client: TestClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
    token = csrf_of(client.get("/admin/login").text)
    return client.post("/admin/login", data={"csrf_token": token, "email": email, "password": password})


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield client


@pytest.fixture
def admin(app: FastAPI) -> Iterator[TestClient]:
    """A client signed in as the admin."""
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert login(client).status_code == 303
        yield client


def post(client: TestClient, path: str, data: dict[str, Any] | None = None, page: str = "/admin", **kwargs: Any) -> Any:
    """POST like the browser: with the CSRF token a page of the admin carries."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def add_subscribers(settings: Settings, *emails: str, status: str = "active", **fields: Any) -> list[int]:
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        rows = [Subscriber(email=e, status=status, created_at=now, updated_at=now,
                           confirmed_at=now if status == "active" else None, **fields) for e in emails]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]
