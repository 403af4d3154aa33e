"""/confirm/{token}: activates once, leads to preferences, welcome mail follows; expired links
offer a new one; forged, tampered and revoked links are 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.tokens import make_token
from tests.service.web.public.conftest import csrf_token, link_in, mails_to, subscribe


def status_of(settings: Settings, email: str) -> str:
    with session_scope(settings) as session:
        return session.scalars(select(Subscriber).where(Subscriber.email == email)).one().status


def test_confirm_activates_redirects_to_preferences_and_sends_a_welcome(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org", topics=["agents"])
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    response = client.get(confirm)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/preferences/")
    assert response.headers["location"].endswith("?done=confirmed")
    assert status_of(site, "bob@example.org") == "active"
    welcome = mails_to("bob@example.org")[-1]
    assert welcome["Subject"] == "Welcome to papermail"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "Your subscription is confirmed" in page.text


def test_confirm_is_idempotent(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    first, second = client.get(confirm), client.get(confirm)
    assert second.status_code == 303
    assert second.headers["location"].endswith("?done=already-confirmed")
    assert first.headers["location"].split("?")[0] == second.headers["location"].split("?")[0]
    assert [m["Subject"] for m in mails_to("bob@example.org")].count("Welcome to papermail") == 1


def test_expired_link_offers_a_new_one(client: TestClient, site: Settings) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with time_machine.travel(start + timedelta(hours=48, minutes=1), tick=False):
        response = client.get(confirm)
        assert response.status_code == 410
        assert "This link has expired" in response.text
        renew = client.post(f"{confirm}/renew", data={"csrf_token": csrf_token(response.text, f"{confirm}/renew")})
    assert renew.status_code == 303 and renew.headers["location"] == "/check-inbox"
    assert status_of(site, "bob@example.org") == "pending"
    fresh = link_in(mails_to("bob@example.org")[-1], "confirm")
    assert fresh != confirm
    with time_machine.travel(start + timedelta(hours=49), tick=False):
        assert client.get(fresh).status_code == 303
    assert status_of(site, "bob@example.org") == "active"


def test_tampered_forged_and_foreign_tokens_are_404(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    tampered = confirm[:-3] + ("aaa" if not confirm.endswith("aaa") else "bbb")
    forged = "/confirm/" + make_token(site.model_copy(update={"secret_key": "guessed" * 8}), "confirm", 1, 1)
    other_purpose = "/confirm/" + make_token(site, "unsubscribe", 1, 1)
    for path in (tampered, forged, other_purpose, "/confirm/garbage"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Link not valid" in response.text and 'href="/links"' in response.text
    assert status_of(site, "bob@example.org") == "pending"


def test_revoked_token_version_is_404(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().token_version += 1
    assert client.get(confirm).status_code == 404
    assert status_of(site, "bob@example.org") == "pending"


def test_a_later_unsubscribe_wins_over_an_old_confirmation_link(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().status = "unsubscribed"
    assert client.get(confirm).status_code == 404
    assert status_of(site, "bob@example.org") == "unsubscribed"
