"""/preferences/{token}: every field editable, the preview follows the preferences, bad input
changes nothing, pause/resume, address change confirmed from the new mailbox, fresh links."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from tests.service.web.public.conftest import (
    confirmed,
    csrf_token,
    link_in,
    mails_to,
    post_form,
)

FULL = {
    "topics": ["efficient-inference"],
    "keywords": 'quantization, "KV cache"',
    "exclude": "survey",
    "authors": "Ada Lovelace\nAlan Turing",
    "frequency": "weekly",
    "weekly_day": "fri",
    "send_hour": "6",
    "timezone": "Asia/Tokyo",
    "max_papers": "5",
    "min_upvotes": "3",
}


def row(settings: Settings, email: str) -> Subscriber:
    with session_scope(settings) as session:
        return session.scalars(select(Subscriber).where(Subscriber.email == email)).one()


def preview_titles(html: str) -> list[str]:
    section = html[html.index('id="preview"'):]
    return re.findall(r'class="paper__title"><a [^>]*>(.*?)</a>', section)


def save(client: TestClient, page: str, data: dict[str, Any]) -> Any:
    return post_form(client, page, page, data)


def test_page_shows_stored_preferences_and_a_preview(client: TestClient) -> None:
    page = confirmed(client, "bob@example.org", topics=["agents"], keywords="benchmark")
    html = client.get(page).text
    assert 'value="agents" checked' in html
    assert 'value="benchmark"' in html
    assert "What you would have got today" in html
    assert len(preview_titles(html)) >= 1
    assert "/archive/" in html and "/feed/" in html and "/unsubscribe/" in html


def test_saving_every_field_and_the_preview_follows(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    before = preview_titles(client.get(page).text)
    response = save(client, page, FULL)
    assert response.status_code == 303 and response.headers["location"].startswith(f"{page}?done=saved")
    bob = row(site, "bob@example.org")
    assert (bob.frequency, bob.weekly_day, bob.send_hour, bob.timezone) == ("weekly", 4, 6, "Asia/Tokyo")
    prefs = bob.preferences
    assert prefs["topics"] == ["efficient-inference"]
    assert prefs["keywords"] == ["quantization", "KV cache"] and prefs["exclude"] == ["survey"]
    assert prefs["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert (prefs["max_papers"], prefs["min_upvotes"]) == (5, 3)
    after_html = client.get(response.headers["location"]).text
    assert "Your preferences are saved." in after_html
    after = preview_titles(after_html)
    assert after != before and 1 <= len(after) <= 5
    assert "<mark>" in after_html[after_html.index('id="preview"'):]  # matched terms highlighted


def test_preview_fragment_reflects_unsaved_values(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    narrow = client.get(f"{page}/preview", params={"keywords": "quantization", "max_papers": "2", "topics": []})
    assert narrow.status_code == 200
    assert "<html" not in narrow.text and 1 <= len(re.findall('class="paper"', narrow.text)) <= 2
    bad = client.get(f"{page}/preview", params={"topics": "astrology"})
    assert bad.status_code == 422 and "unknown topic" in bad.text
    assert row(site, "bob@example.org").preferences.get("keywords", []) == []  # previews never save


def test_bad_input_is_422_and_changes_nothing(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org", topics=["llm"])
    stored = row(site, "bob@example.org").preferences
    for bad, message in [
        ({"topics": ["astrology"]}, "unknown topic"),
        ({"keywords": "k" * 10_000}, "keep it under"),
        ({"max_papers": "500"}, "less than or equal to 50"),
        ({"min_upvotes": "-1"}, "greater than or equal to 0"),
        ({"timezone": "Nowhere/Land"}, "unknown time zone"),
        ({"weekly_day": "someday"}, "not one of the choices"),
    ]:
        response = save(client, page, {**FULL, **bad})
        assert response.status_code == 422, bad
        assert message in response.text, (bad, message)
        assert 'role="alert"' in response.text
    assert row(site, "bob@example.org").preferences == stored


def test_preferences_without_csrf_is_403(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org", topics=["llm"])
    response = client.post(page, data={**FULL})
    assert response.status_code == 403
    assert row(site, "bob@example.org").preferences["topics"] == ["llm"]


def test_tampered_preferences_token_is_404(client: TestClient) -> None:
    page = confirmed(client, "bob@example.org")
    assert client.get(page[:-4] + "AAAA").status_code == 404
    assert client.get(page.replace("/preferences/", "/preferences/x")).status_code == 404


def test_pause_and_resume(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    response = post_form(client, page, f"{page}/pause", {})
    assert response.status_code == 303 and row(site, "bob@example.org").status == "paused"
    assert "Resume digests" in client.get(page).text
    post_form(client, page, f"{page}/resume", {})
    assert row(site, "bob@example.org").status == "active"


def test_address_change_needs_confirmation_from_the_new_mailbox(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    response = post_form(client, page, f"{page}/email", {"email": "Robert@Example.net"})
    assert response.status_code == 303
    bob = row(site, "bob@example.org")
    assert bob.pending_email == "robert@example.net"  # not changed yet
    [mail] = mails_to("robert@example.net")
    confirm = link_in(mail, "confirm")
    assert "Confirm your new address" in client.get(confirm).text
    assert row(site, "bob@example.org").pending_email == "robert@example.net"  # the GET changed nothing
    result = client.post(confirm)
    assert result.status_code == 303 and result.headers["location"].endswith("?done=address")
    moved = row(site, "robert@example.net")
    assert moved.id == bob.id and moved.pending_email is None
    assert client.get(page).status_code == 404  # links mailed to the old address are revoked
    assert client.get(result.headers["location"]).status_code == 200


def test_address_change_to_a_malformed_address_is_422(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    response = post_form(client, page, f"{page}/email", {"email": "robert@@example"})
    assert response.status_code == 422 and 'id="new_email-error"' in response.text
    assert row(site, "bob@example.org").pending_email is None


def test_new_link_rotates_every_link_and_mails_a_fresh_one(client: TestClient) -> None:
    page = confirmed(client, "bob@example.org")
    response = post_form(client, "/links", "/links", {"email": "bob@example.org"})
    assert response.status_code == 303 and response.headers["location"] == "/check-inbox"
    assert client.get(page).status_code == 404
    mail = mails_to("bob@example.org")[-1]
    assert mail["Subject"] == "Your new papermail links"
    assert client.get(link_in(mail, "preferences")).status_code == 200


def test_new_link_answers_the_same_for_unknown_addresses(client: TestClient) -> None:
    confirmed(client, "bob@example.org")
    known = post_form(client, "/links", "/links", {"email": "bob@example.org"})
    unknown = post_form(client, "/links", "/links", {"email": "nobody@example.org"})
    assert (known.status_code, known.headers["location"], known.text) == (
        unknown.status_code, unknown.headers["location"], unknown.text)
    assert mails_to("nobody@example.org") == []


def test_new_link_requests_are_rate_limited_per_address(client: TestClient) -> None:
    statuses = [post_form(client, "/links", "/links", {"email": "bob@example.org"}).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    token = csrf_token(client.get("/links").text, "/links")
    assert client.post("/links", data={"csrf_token": token, "email": "x"}).status_code == 422


def test_address_change_to_an_undeliverable_address_says_why(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org")
    response = post_form(client, page, f"{page}/email", {"email": "josé@example.com"})
    assert response.status_code == 422 and "before the @ (é)" in response.text
    assert row(site, "bob@example.org").pending_email is None
    assert mails_to("josé@example.com") == []
