"""/confirm/{token}: GET shows a button and changes nothing (a link scanner's fetch leaves the
address pending); its POST activates once, leads to preferences, the welcome mail follows; expired
links offer a new one (410); forged, tampered and revoked links are 404 on GET and POST alike."""

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


def test_a_scanners_get_shows_a_button_and_leaves_the_address_pending(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    for _ in range(3):  # Safe Links, Proofpoint and the reader's own preview all fetch it
        page = client.get(confirm)
        assert page.status_code == 200
        assert "Confirm your subscription" in page.text and "bob@example.org" in page.text
        assert f'<form method="post" action="{confirm}">' in page.text
    assert client.head(confirm).status_code == 200
    assert status_of(site, "bob@example.org") == "pending"
    assert [m["Subject"] for m in mails_to("bob@example.org")].count("Welcome to papermail") == 0


def test_the_button_works_without_a_csrf_cookie(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    client.cookies.clear()  # a mail app's browser that opened the page in another context
    assert client.post(confirm).status_code == 303
    assert status_of(site, "bob@example.org") == "active"


def test_confirm_activates_redirects_to_preferences_and_sends_a_welcome(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org", topics=["agents"])
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    response = client.post(confirm)
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
    first, second = client.post(confirm), client.post(confirm)
    assert second.status_code == 303
    assert second.headers["location"].endswith("?done=already-confirmed")
    assert first.headers["location"].split("?")[0] == second.headers["location"].split("?")[0]
    assert [m["Subject"] for m in mails_to("bob@example.org")].count("Welcome to papermail") == 1
    # Once confirmed, the page says so and leads to the preferences instead of a button.
    again = client.get(confirm)
    assert again.status_code == 200 and "Your subscription is confirmed" in again.text
    assert "Yes, subscribe me" not in again.text and "/preferences/" in again.text


def test_expired_link_offers_a_new_one(client: TestClient, site: Settings) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with time_machine.travel(start + timedelta(hours=48, minutes=1), tick=False):
        assert client.post(confirm).status_code == 410
        response = client.get(confirm)
        assert response.status_code == 410
        assert "This link has expired" in response.text
        renew = client.post(f"{confirm}/renew", data={"csrf_token": csrf_token(response.text, f"{confirm}/renew")})
    assert renew.status_code == 303 and renew.headers["location"] == "/check-inbox"
    assert status_of(site, "bob@example.org") == "pending"
    fresh = link_in(mails_to("bob@example.org")[-1], "confirm")
    assert fresh != confirm
    with time_machine.travel(start + timedelta(hours=49), tick=False):
        assert client.get(fresh).status_code == 200
        assert client.post(fresh).status_code == 303
    assert status_of(site, "bob@example.org") == "active"


def test_tampered_forged_and_foreign_tokens_are_404(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    tampered = confirm[:-3] + ("aaa" if not confirm.endswith("aaa") else "bbb")
    forged = "/confirm/" + make_token(site.model_copy(update={"secret_key": "guessed" * 8}), "confirm", 1, 1)
    other_purpose = "/confirm/" + make_token(site, "unsubscribe", 1, 1)
    for path in (tampered, forged, other_purpose, "/confirm/garbage"):
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 404, path
            assert "Link not valid" in response.text and 'href="/links"' in response.text
    assert status_of(site, "bob@example.org") == "pending"


def test_revoked_token_version_is_404(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().token_version += 1
    assert client.get(confirm).status_code == 404
    assert client.post(confirm).status_code == 404
    assert status_of(site, "bob@example.org") == "pending"


def test_a_later_unsubscribe_wins_over_an_old_confirmation_link(client: TestClient, site: Settings) -> None:
    subscribe(client, "bob@example.org")
    confirm = link_in(mails_to("bob@example.org")[0], "confirm")
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().status = "unsubscribed"
    assert client.get(confirm).status_code == 404
    assert client.post(confirm).status_code == 404
    assert status_of(site, "bob@example.org") == "unsubscribed"
