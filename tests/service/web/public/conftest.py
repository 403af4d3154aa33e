"""A public site on the embedded defaults (SQLite, memory mail sent in-process), the demo
papers ingested, and helpers that act like a browser: read a page's CSRF token, submit forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.demo.run import sample_papers_for
from service.ingest.poll import ingest_document
from service.mail import memory_outbox
from service.web.app import create_app

BASE = "http://papermail.test"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def site(settings: Settings) -> Settings:
    """Schema at head and the bundled sample papers, dated so that their last day is today."""
    migrate.upgrade(settings)
    now = datetime.now(UTC)
    ingest_document(settings, sample_papers_for(now.date()), source_name="demo", fmt="hf", now=now)
    return settings



@pytest.fixture
def client(site: Settings) -> TestClient:
    return TestClient(create_app(site), base_url=BASE, follow_redirects=False)


def csrf_token(html: str, action: str) -> str:
    """The CSRF token of the form posting to ACTION on the page."""
    start = html.index(f'action="{action}"')
    match = CSRF_RE.search(html, start)
    assert match is not None, f"no CSRF field in the form for {action}"
    return match.group(1)


def post_form(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """GET PAGE like a browser, then submit its form posting to ACTION with DATA."""
    html = client.get(page).text
    return client.post(action, data={"csrf_token": csrf_token(html, action), **data})


def subscribe(client: TestClient, email: str, **fields: Any) -> Any:
    data = {"email": email, "frequency": "daily", "send_hour": "8", "timezone": "UTC", "keywords": ""}
    data.update(fields)
    return post_form(client, "/", "/", data)


def mails_to(address: str) -> list[EmailMessage]:
    return [m.message for m in memory_outbox() if m.to == address]


def link_in(message: EmailMessage, purpose: str) -> str:
    """The path of the first PURPOSE link in the message's text part."""
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(rf"{re.escape(BASE)}(/{purpose}/[A-Za-z0-9_.\-]+)", body.get_content())
    assert match is not None, f"no /{purpose}/ link in: {body.get_content()[:500]}"
    return match.group(1)


def confirmed(client: TestClient, email: str, **fields: Any) -> str:
    """Subscribe and confirm EMAIL; returns the preferences page path the confirmation led to."""
    assert subscribe(client, email, **fields).status_code == 303
    response = client.post(link_in(mails_to(email)[-1], "confirm"))  # the confirmation page's button
    assert response.status_code == 303
    return response.headers["location"].split("?")[0]
