"""The front page and the paper page in Debian's Chromium against a real `papermail web`, on the
recorded Hugging Face day (ingested with the project's ingest code): the latest day in full,
the first paper above the fold on a phone, thumbnails loaded from the source's CDN (answered
here by a local route: the CSP must let the page ask for them), date navigation, search, the
topic filter, the paper page with similar papers; and every entry of an Atom feed resolves.
At 375 px and 1280 px: screenshots in test-artifacts/, no console errors, no horizontal scroll."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from sqlalchemy import select

from config.settings import Settings
from service.catalog.cards import THUMBNAIL_HOSTS, paper_day
from service.ingest.poll import ingest_document
from service.storage.db import session_scope
from service.storage.models import Paper, Subscriber
from service.subscribers.tokens import link
from tests.support.browser import CheckedPage
from tests.support.web_server import embedded_web

pytestmark = pytest.mark.integration

HF_DAY = "feeds/hf_daily_papers_2026-06-12.json"
VIEWPORTS = {375: 667, 1280: 900}  # a small phone's height: the first paper must show without scrolling


def png(width: int = 120, height: int = 64) -> bytes:
    """A plain PNG, standing in for the CDN's thumbnails (this machine has no network)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x90\xa0\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_fixtures: Path) -> Iterator[tuple[str, Settings]]:
    def ingest_the_day(settings: Settings) -> None:
        summary = ingest_document(settings, (shared_fixtures / HF_DAY).read_bytes(), source_name="hf-daily", fmt="hf")
        assert summary.new == summary.fetched > 0

    with embedded_web(tmp_path_factory.mktemp("front"), ingest_the_day) as (url, settings):
        yield url, settings


def latest_day(settings: Settings) -> tuple[date, list[Paper]]:
    """The latest day and its papers, worked out here from the rows, most upvoted first."""
    with session_scope(settings) as session:
        papers = list(session.scalars(select(Paper)))
    day = max(paper_day(p) for p in papers)
    return day, sorted((p for p in papers if paper_day(p) == day), key=lambda p: -p.upvotes)


def open_page(browser: Any, width: int, prefix: str) -> tuple[Any, Any, CheckedPage]:
    context = browser.new_context(viewport={"width": width, "height": VIEWPORTS[width]})
    for host in THUMBNAIL_HOSTS:
        context.route(f"https://{host}/**", lambda route: route.fulfill(status=200, body=png(), content_type="image/png"))
    page = context.new_page()
    return context, page, CheckedPage(page, width, prefix)


def thumbnails_loaded(page: Any, scope: str) -> None:
    page.wait_for_function(f"""() => {{
        const img = document.querySelector({json.dumps(scope + ' img')});
        return img !== null && img.complete && img.naturalWidth > 0;
    }}""")


def titles_on(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".pcard__title").all_inner_texts()]


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_front_page_is_the_latest_day_in_full(server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    day, papers = latest_day(settings)
    context, page, checked = open_page(browser, width, "front")
    try:
        page.goto(url + "/")
        assert page.locator("h1").inner_text() == f"{day:%a}, {day:%b} {day.day}, {day.year}"
        shown = titles_on(page)
        assert sorted(shown) == sorted(p.title for p in papers)
        upvotes = [int(re.sub(r"\D", "", t)) for t in page.locator(".pcard .upvotes").all_inner_texts()]
        assert upvotes == sorted(upvotes, reverse=True)  # trending first

        height = VIEWPORTS[width]
        first_title = page.locator(".pcard__title").first.bounding_box()
        assert first_title is not None and first_title["y"] + first_title["height"] <= height, first_title
        email = page.get_by_label("Email address").bounding_box()
        assert email is not None and email["y"] + email["height"] <= height  # the form stays prominent
        assert page.get_by_role("heading", name="Get these in your inbox, matched to you").is_visible()

        best = papers[0]
        first = page.locator(".pcard").first
        assert first.locator(".pcard__summary").inner_text() == (best.ai_summary or "").strip()
        assert best.organization and best.organization in first.locator(".pcard__meta").inner_text()
        assert f"{best.num_comments} comment" in first.locator(".comments").inner_text()
        thumbnails_loaded(page, ".pcard")
        abstract = first.locator(".pcard__abstract p")
        assert not abstract.is_visible()
        first.get_by_text("Abstract", exact=True).click()
        assert abstract.is_visible() and abstract.inner_text()[:60] == best.abstract[:60]
        assert [a.inner_text() for a in first.locator(".pcard__links a").all()][:3] == ["Hugging Face", "arXiv", "PDF"]
        checked.shot("latest-day")
    finally:
        context.close()
    assert checked.errors == []


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_date_navigation_has_stable_urls(server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    day, papers = latest_day(settings)
    year, week, _ = day.isocalendar()
    context, page, checked = open_page(browser, width, "front")
    try:
        page.goto(url + "/")
        page.locator(".daynav__kinds").get_by_role("link", name="Week").click()
        page.wait_for_url(f"{url}/?week={year}-W{week:02d}")
        assert page.locator("h1").inner_text().startswith("Week of")
        assert set(p.title for p in papers) <= set(titles_on(page))
        checked.shot("week")

        page.locator(".daynav__kinds").get_by_role("link", name="Month").click()
        page.wait_for_url(f"{url}/?month={day:%Y-%m}")
        assert page.locator("h1").inner_text() == f"{day:%B %Y}"

        quiet = day + timedelta(days=1)  # after the latest day: nothing yet, and the way back
        page.goto(f"{url}/?date={quiet.isoformat()}")
        assert page.get_by_text("No papers for").is_visible()
        page.locator("a[rel=prev]").click()
        page.wait_for_url(f"{url}/?date={day.isoformat()}")
        assert sorted(titles_on(page)) == sorted(p.title for p in papers)
        checked.shot("day")
    finally:
        context.close()
    assert checked.errors == []


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_search_and_topic_filter(server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    _, papers = latest_day(settings)
    target = next(p for p in papers if len(p.authors) >= 2)
    context, page, checked = open_page(browser, width, "front")
    try:
        page.goto(url + "/")
        words = " ".join(re.findall(r"[A-Za-z]{4,}", target.title)[:3])
        page.get_by_label("Search titles, abstracts and authors").fill(words)
        page.get_by_label("Search titles, abstracts and authors").press("Enter")
        page.wait_for_url(re.compile(r".*/\?q="))
        assert target.title in titles_on(page)
        checked.shot("search")

        surname = target.authors[-1].split()[-1]
        page.goto(f"{url}/?q={surname}")
        assert target.title in titles_on(page)
        page.goto(f"{url}/?q=zzzzqqq")
        assert page.get_by_text("No paper matches every word").is_visible()

        page.goto(url + "/")
        chip = page.locator(".topic-filter a").nth(1)
        name = chip.inner_text().rsplit(" ", 1)[0].strip()
        count = int(chip.locator(".topic-filter__n").inner_text())
        chip.click()
        page.wait_for_url(re.compile(r".*/\?topic=[a-z0-9-]+$"))
        cards = page.locator(".pcard").all()
        assert len(cards) == count > 0
        assert all(card.locator(".chip--topic", has_text=name).count() == 1 for card in cards)
        assert page.locator(".topic-filter a[aria-current]").inner_text().startswith(name)
        checked.shot("topic")
    finally:
        context.close()
    assert checked.errors == []


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_paper_page(server: tuple[str, Settings], browser: Any, width: int) -> None:
    url, settings = server
    _, papers = latest_day(settings)
    best = papers[0]
    context, page, checked = open_page(browser, width, "paper")
    try:
        page.goto(url + "/")
        page.locator(".pcard__title a").first.click()
        page.wait_for_url(f"{url}/papers/{best.arxiv_id}")
        assert page.locator("h1").inner_text() == best.title
        assert page.locator(".paper-page__abstract").inner_text() == best.abstract
        assert all(name in page.locator(".pcard__meta").inner_text() for name in best.authors)
        assert "hf-daily" in page.get_by_role("region", name="Sources").inner_text()
        thumbnails_loaded(page, ".paper-page__thumb")
        similar = page.locator(".plines .pline__title")
        assert similar.count() >= 1
        other = similar.first.inner_text()
        assert other != best.title
        checked.shot("page")
        similar.first.click()
        page.wait_for_url(re.compile(r".*/papers/\d{4}\.\d{4,5}$"))
        assert page.locator("h1").inner_text() == other
    finally:
        context.close()
    assert checked.errors == []


def hf_item(arxiv_id: str, title: str, day: date, upvotes: int) -> dict[str, Any]:
    at = f"{day.isoformat()}T00:00:00.000Z"
    return {"paper": {"id": arxiv_id, "title": title, "summary": f"{title}: an abstract about agents.",
                      "authors": [{"name": "Ada Lovelace"}], "publishedAt": at, "submittedOnDailyAt": at,
                      "upvotes": upvotes},
            "publishedAt": at, "title": title, "numComments": 1}


@pytest.fixture(scope="module")
def todays_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A server whose papers are today's, so a reader's feed (the lookback window) has entries."""
    def ingest_two_of_today(settings: Settings) -> None:
        today = datetime.now(UTC).date()
        items = [hf_item("2612.00001", "Agents that plan", today, 40), hf_item("2612.00002", "Agents that remember", today, 30)]
        ingest_document(settings, json.dumps(items).encode(), source_name="hf-daily", fmt="hf")

    with embedded_web(tmp_path_factory.mktemp("feed"), ingest_two_of_today) as (url, settings):
        yield url, settings


def test_atom_feed_entries_resolve(todays_server: tuple[str, Settings], browser: Any) -> None:
    url, settings = todays_server
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        reader = Subscriber(email="feeds@example.org", status="active", confirmed_at=now - timedelta(days=1),
                            preferences={"keywords": ["agents"]})
        session.add(reader)
        session.flush()
        feed_url = link(settings, "feed", reader.id, reader.token_version)
    parsed = feedparser.parse(httpx.get(feed_url).content)
    assert parsed.bozo == 0 and len(parsed.entries) == 2
    context, page, checked = open_page(browser, 1280, "feed")
    try:
        for entry in parsed.entries:
            alternate = next(x.href for x in entry.links if x.rel == "alternate")
            assert alternate.startswith(f"{url}/papers/26")
            for address in (entry.id, alternate):
                response = page.goto(address)
                assert response is not None and response.status == 200, address
                assert page.url == alternate  # the entry id redirects to the paper's one address
                assert page.locator("h1").inner_text() == entry.title
        checked.shot("entry")
    finally:
        context.close()
    assert checked.errors == []
