"""/archive/{token} and /digest/{token} re-render past digests from what their deliveries kept; /feed/{token}
is a valid Atom feed of the subscriber's matches, everything from sources escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from config.settings import Settings
from service.storage.db import session_scope
from service.mail.toolkit import DeliveryTools
from service.digests.run import run_foreground
from service.storage.models import Delivery, Paper, Subscriber
from service.subscribers.tokens import link, make_token
from tests.service.web.public.conftest import BASE, confirmed, link_in, mails_to


@pytest.fixture(autouse=True)
def announced_today(site: Settings) -> None:
    """The sample papers, announced today: a digest's and a feed's window is over the papers'
    days (a backfill is never news), and these tests are about what a reader gets today."""
    with session_scope(site) as session:
        session.execute(update(Paper).values(announced_on=datetime.now(UTC).date()))


def with_a_digest(client: TestClient, site: Settings, email: str = "bob@example.org") -> Delivery:
    """Confirm EMAIL (send hour 0, confirmed two days ago) and send today's digest."""
    confirmed(client, email, topics=["efficient-inference"], keywords="quantization", send_hour="0")
    now = datetime.now(UTC)
    with session_scope(site) as session:
        session.execute(update(Subscriber).where(Subscriber.email == email)
                        .values(confirmed_at=now - timedelta(days=2)))
    run_foreground(site, now, DeliveryTools.from_settings(site))
    with session_scope(site) as session:
        sid = session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
        return session.scalars(select(Delivery).where(Delivery.subscriber_id == sid, Delivery.status == "sent")).one()


def test_view_in_browser_link_of_a_sent_digest(client: TestClient, site: Settings) -> None:
    delivery = with_a_digest(client, site)
    digest_mail = mails_to("bob@example.org")[-1]
    path = link_in(digest_mail, "digest")
    response = client.get(path)
    assert response.status_code == 200
    with session_scope(site) as session:
        ids = session.scalar(select(Delivery.paper_ids).where(Delivery.id == delivery.id)) or []
        by_id = {i: t for i, t in session.execute(select(Paper.id, Paper.title).where(Paper.id.in_(ids)))}
        titles = [by_id[i] for i in ids]
    assert len(titles) == delivery.paper_count and titles
    shown = re.findall(r'class="paper__title"><a [^>]*>(.*?)</a>', response.text)
    assert [re.sub(r"</?mark>", "", t) for t in shown] == [t.replace("'", "&#39;") for t in titles]
    assert "Why:" in response.text and "<mark>" in response.text


def test_archive_lists_past_digests(client: TestClient, site: Settings) -> None:
    delivery = with_a_digest(client, site)
    with session_scope(site) as session:
        bob = session.scalars(select(Subscriber)).one()
        archive = link(site, "archive", bob.id, bob.token_version).removeprefix(BASE)
    response = client.get(archive)
    assert response.status_code == 200
    assert f"{delivery.paper_count} papers" in response.text
    digest_path = re.search(r'href="http://papermail\.test(/digest/[^"]+)"', response.text)
    assert digest_path and client.get(digest_path.group(1)).status_code == 200


def test_digest_of_someone_else_or_tampered_is_404(client: TestClient, site: Settings) -> None:
    delivery = with_a_digest(client, site)
    confirmed(client, "eve@example.org")
    with session_scope(site) as session:
        eve = session.scalars(select(Subscriber).where(Subscriber.email == "eve@example.org")).one()
        eves_link = make_token(site, "digest", eve.id, eve.token_version, d=delivery.id)
    assert client.get(f"/digest/{eves_link}").status_code == 404
    assert client.get(f"/digest/{eves_link[:-3]}abc").status_code == 404
    assert client.get("/archive/not-a-token").status_code == 404


def test_feed_is_valid_atom_of_matched_papers(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org", keywords="quantization")
    feed_path = re.search(r'value="http://papermail\.test(/feed/[^"]+)"', client.get(page).text)
    assert feed_path
    response = client.get(feed_path.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content, response_headers={"content-type": response.headers["content-type"]})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.entries and all("quantization" in (e.title + e.summary).lower() for e in parsed.entries)
    assert all(e.link.startswith("http") and e.id for e in parsed.entries)
    assert 'matched "quantization"' in parsed.entries[0].summary.replace("“", '"').replace("”", '"')


def test_feed_escapes_hostile_feed_data(client: TestClient, site: Settings) -> None:
    with session_scope(site) as session:
        session.add(Paper(uid="feed:evil", title="Quantization <script>alert(1)</script> & \x01 friends",
                          abstract="quantization ]]> <img src=x onerror=alert(1)>", authors=["<Mallory>"],
                          hf_url="javascript:alert(1)", upvotes=5, first_seen_at=datetime.now(UTC),
                          announced_on=datetime.now(UTC).date()))
    page = confirmed(client, "bob@example.org", keywords="quantization")
    feed_path = re.search(r'value="http://papermail\.test(/feed/[^"]+)"', client.get(page).text)
    assert feed_path
    body = client.get(feed_path.group(1)).content
    assert b"<script>" not in body and b"<img" not in body and b"javascript:" not in body
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    evil = [e for e in parsed.entries if "friends" in e.title]
    assert evil and evil[0].title == "Quantization <script>alert(1)</script> &  friends"
    assert "links" not in evil[0] or all(not x.href.startswith("javascript") for x in evil[0].links)


def test_feed_with_a_tampered_or_revoked_token_is_404(client: TestClient, site: Settings) -> None:
    confirmed(client, "bob@example.org")
    with session_scope(site) as session:
        bob = session.scalars(select(Subscriber)).one()
        token = make_token(site, "feed", bob.id, bob.token_version)
    assert client.get(f"/feed/{token}").status_code == 200
    assert client.get(f"/feed/{token[:-2]}xx").status_code == 404
    with session_scope(site) as session:
        session.scalars(select(Subscriber)).one().token_version += 1
    assert client.get(f"/feed/{token}").status_code == 404


def test_feed_entries_link_to_paper_pages_that_resolve(client: TestClient, site: Settings) -> None:
    page = confirmed(client, "bob@example.org", keywords="quantization")
    feed_path = re.search(r'value="http://papermail\.test(/feed/[^"]+)"', client.get(page).text)
    assert feed_path
    parsed = feedparser.parse(client.get(feed_path.group(1)).content)
    assert parsed.entries
    for entry in parsed.entries:
        links = {x.rel: x.href for x in entry.links}
        assert links["alternate"].startswith(f"{BASE}/papers/") and links["related"].startswith("https://")
        page_path = links["alternate"].removeprefix(BASE)
        assert client.get(page_path).status_code == 200
        moved = client.get(entry.id.removeprefix(BASE))  # the permanent id: /papers/<row id>
        assert moved.status_code == 301 and moved.headers["location"] == page_path
        assert client.get(entry.id.removeprefix(BASE), follow_redirects=True).status_code == 200
