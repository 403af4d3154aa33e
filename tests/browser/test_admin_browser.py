"""The admin in Debian's Chromium against a real `papermail web`: sign in, find a subscriber,
edit them, see the dashboard. Screenshots in test-artifacts/ at 1280 px and 390 px; no console
errors (the CSP would report a blocked inline style or script), no horizontal scroll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config.settings import Settings
from service.admin.users import create_admin
from service.storage.db import session_scope
from service.demo.cast import sample_papers_path
from service.ingest.poll import ingest_document
from service.storage.models import Delivery, Subscriber
from tests.support.browser import CheckedPage
from tests.support.web_server import embedded_web

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "admin@example.org", "a long admin password 123"


def seed(settings: Settings) -> None:
    """Sample papers, an admin, and a month of subscribers and digests for the charts."""
    now = datetime.now(UTC)
    ingest_document(settings, sample_papers_path().read_bytes(), source_name="demo", fmt="hf", now=now)
    topics = (["llm"], ["agents", "llm"], ["computer-vision"], ["efficient-inference"], [])
    keywords = (["rlhf"], ["diffusion"], [], ["<b>moe</b>"], ["quantization", "rlhf"])
    with session_scope(settings) as session:
        create_admin(session, EMAIL, PASSWORD, now)
        for i in range(120):
            created = now - timedelta(days=29 - i % 30, hours=i % 7)
            status = ("active", "active", "pending", "paused", "unsubscribed", "active")[i % 6]
            session.add(Subscriber(
                email=f"reader{i:03d}@{('example.org', 'lab.example', 'uni.example')[i % 3]}", status=status,
                created_at=created, confirmed_at=created if status != "pending" else None,
                unsubscribed_at=created + timedelta(days=2) if status == "unsubscribed" else None,
                preferences={"topics": topics[i % 5], "keywords": keywords[i % 5]}, frequency=("daily", "weekly")[i % 2]))
        session.flush()
        for day in range(20):
            for j in range(1 + day % 4):
                session.add(Delivery(subscriber_id=1 + j * 6, period=f"d{day}-{j}", status="failed" if (day + j) % 9 == 0 else "sent",
                                     claimed_at=now - timedelta(days=day), sent_at=now - timedelta(days=day),
                                     error="451 4.7.1 try again later" if (day + j) % 9 == 0 else None))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_web(tmp_path_factory.mktemp("admin"), seed) as (url, _):
        yield url



@pytest.mark.parametrize("width", [1280, 390])
def test_sign_in_find_edit_and_see_the_dashboard(server: str, browser: Any, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    checked = CheckedPage(page, width, "admin")
    # Each run edits its own subscriber: the server (and its database) is shared.
    number = 7 if width == 1280 else 8
    address = f"reader{number:03d}@{('example.org', 'lab.example', 'uni.example')[number % 3]}"
    try:
        page.goto(server + "/admin/subscribers")
        page.wait_for_url("**/admin/login?next=*")
        checked.shot("login")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server + "/admin/subscribers")

        page.get_by_label("Address contains").fill(f"reader{number:03d}")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**/admin/subscribers?q=*")
        assert page.locator(".admin-head").get_by_text("1 matching").is_visible()
        checked.shot("subscribers")
        page.get_by_role("link", name=address).click()
        page.wait_for_url("**/admin/subscribers/*")
        assert page.get_by_role("heading", name=address).is_visible()
        page.get_by_label("Keywords", exact=True).fill("speculative decoding, rlhf")
        page.get_by_label("How often").select_option("weekly")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**/admin/subscribers/*?done=saved")
        assert page.get_by_text("Saved.").is_visible()
        assert page.get_by_label("Keywords", exact=True).input_value() == "speculative decoding, rlhf"
        assert page.locator("code", has_text="subscriber.update").count() == 1  # the status history
        page.frame_locator("iframe.digest-frame").locator("body").wait_for()
        checked.shot("subscriber")

        with page.expect_navigation():
            page.get_by_role("link", name="Dashboard").click()
        assert page.locator("svg.chart").count() == 4
        assert page.locator("svg.chart b").count() == 0
        checked.shot("dashboard")
        for section in ("Topics", "Sources", "Deliveries", "API tokens", "Import / export", "Outbox"):
            with page.expect_navigation():
                page.get_by_role("navigation", name="Admin").get_by_role("link", name=section).click()
            checked.shot(section.lower().replace(" / ", "-").replace(" ", "-"))
    finally:
        context.close()
    assert checked.errors == []
