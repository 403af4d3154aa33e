"""The operator's console in Debian's Chromium against a real `papermail web`: the audit log's
filters, a viewer who can neither change nor export, the bounce log, deleting a topic people
follow (the count, then each of the two choices), and /docs rendering with every request off
this machine blocked. Screenshots in test-artifacts/; no console errors, no horizontal scroll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.bounces import log_bounce
from service.admin.users import create_admin
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.topics.store import current_taxonomy
from tests.support.browser import CheckedPage
from tests.support.web_server import embedded_web

pytestmark = pytest.mark.integration

OWNER, VIEWER, PASSWORD = "owner@example.org", "viewer@example.org", "a long admin password 123"


def seed(settings: Settings) -> None:
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        current_taxonomy(session)
        create_admin(session, OWNER, PASSWORD, now)
        create_admin(session, VIEWER, PASSWORD, now, role="viewer")
        for i in range(6):
            topics = ["robotics", "llm"] if i < 3 else ["speech-audio"] if i < 5 else ["agents"]
            session.add(Subscriber(email=f"reader{i}@lab.example", status="active", confirmed_at=now,
                                   preferences={"topics": topics}))
        session.flush()
        first = session.scalars(select(Subscriber).order_by(Subscriber.id)).first()
        assert first is not None
        for i in range(8):
            session.add(AuditLog(at=now - timedelta(hours=i), actor=("cli", "api:crm")[i % 2],
                                 action=("subscriber.update", "source.update")[i % 2],
                                 target_type=("subscriber", "source")[i % 2],
                                 target_id=str(first.id) if i % 2 == 0 else "hf-daily",
                                 before={"status": "pending"}, after={"status": "active"}))
        log_bounce(session, kind="hard", address=first.email, source="webhook", detail="ses", outcome="suppressed",
                   diagnostic="smtp; 550 5.1.1 <reader0@lab.example>: user unknown", subscriber_id=first.id, at=now)
        log_bounce(session, kind="complaint", address="stranger@else.example", source="inbound", detail="imap",
                   outcome="unknown_address", diagnostic="abuse report (ARF)", at=now - timedelta(hours=2))
        log_bounce(session, kind="soft", address="reader1@lab.example", source="smtp", detail="digest",
                   outcome="counted", diagnostic="452 4.2.2 mailbox full", at=now - timedelta(hours=3))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_web(tmp_path_factory.mktemp("console"), seed) as (url, _):
        yield url


def signed_in(browser: Any, server: str, email: str, width: int = 1280) -> tuple[Any, Any, CheckedPage]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    # A viewer's 403 and the topic question's 409 are the answers these tests expect, not page errors.
    checked = CheckedPage(page, width, f"console-{email.split('@')[0]}",
                          ignore=lambda msg: any(f"status of {code}" in msg.text for code in (403, 409)))
    page.goto(server + "/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return context, page, checked


@pytest.mark.parametrize("width", [1280, 390])
def test_audit_log_filters(server: str, browser: Any, width: int) -> None:
    context, page, checked = signed_in(browser, server, OWNER, width)
    try:
        with page.expect_navigation():
            page.get_by_role("navigation", name="Admin").get_by_role("link", name="Audit log").click()
        rows = page.locator("table.audit-table tbody tr")
        assert rows.count() >= 9  # the seeded rows and this sign-in
        page.get_by_label("Action starts with").fill("source.")
        with page.expect_navigation():
            page.get_by_role("button", name="Filter").click()
        assert "action=source." in page.url
        assert rows.count() == 4 and page.get_by_text("4 matching").is_visible()
        assert all(code == "source.update" for code in page.locator("table.audit-table code").all_inner_texts())
        page.get_by_label("Action starts with").fill("")
        page.get_by_label("Who (part of it)").fill("CLI")
        page.get_by_label("Object", exact=True).select_option("subscriber")
        with page.expect_navigation():
            page.get_by_role("button", name="Filter").click()
        assert rows.count() == 4
        assert page.locator("table.audit-table tbody tr del", has_text="pending").count() == 4  # before → after
        checked.shot("audit")
        with page.expect_navigation():
            page.locator("table.audit-table tbody tr a").first.click()  # the object's own page
        assert "/admin/subscribers/" in page.url
        with page.expect_navigation():
            page.get_by_role("link", name="audit log", exact=True).click()
        assert "type=subscriber" in page.url and page.get_by_text("4 matching").is_visible()
    finally:
        context.close()
    assert checked.errors == []


def test_a_viewer_can_neither_change_nor_export(server: str, browser: Any) -> None:
    context, page, checked = signed_in(browser, server, VIEWER)
    try:
        nav = page.get_by_role("navigation", name="Admin")
        assert nav.get_by_role("link", name="Subscribers").is_visible()
        assert nav.get_by_role("link", name="Import / export").count() == 0
        page.goto(server + "/admin/subscribers")
        assert page.get_by_role("button", name="Apply").count() == 0 and page.locator("input[name=ids]").count() == 0
        with page.expect_navigation():
            page.get_by_role("link", name="reader3@lab.example").click()
        assert page.get_by_role("heading", name="reader3@lab.example").is_visible()
        for name in ("Save", "Pause", "Erase", "Unsubscribe"):
            assert page.get_by_role("button", name=name).count() == 0, name
        checked.shot("subscriber")
        page.goto(server + "/admin/topics/robotics")
        assert page.get_by_role("button", name="Delete this topic").count() == 0
        response = page.goto(server + "/admin/export.csv")
        assert response is not None and response.status == 403
        assert page.get_by_text("cannot take addresses out of papermail").is_visible()
        checked.shot("export-refused")
        # A hand-made POST (the forms are not there to click) is refused too, and changes nothing.
        page.goto(server + "/admin/subscribers")
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        refused = page.request.post(server + "/admin/topics/robotics/delete", form={"csrf_token": token or "",
                                                                                   "then": "remove"})
        assert refused.status == 403
        page.goto(server + "/admin/topics")
        assert page.get_by_role("link", name="Robotics").is_visible()
    finally:
        context.close()
    assert checked.errors == []


def test_the_bounce_log(server: str, browser: Any) -> None:
    context, page, checked = signed_in(browser, server, OWNER, 390)
    try:
        with page.expect_navigation():
            page.get_by_role("navigation", name="Admin").get_by_role("link", name="Bounces").click()
        rows = page.locator("table.bounce-table tbody tr")
        assert rows.count() == 3
        assert page.get_by_text("smtp; 550 5.1.1 <reader0@lab.example>: user unknown").is_visible()
        checked.shot("bounces")
        page.get_by_label("Kind").select_option("complaint")
        with page.expect_navigation():
            page.get_by_role("button", name="Filter").click()
        assert rows.count() == 1 and page.get_by_text("stranger@else.example").is_visible()
        page.goto(server + "/admin/bounces")
        with page.expect_navigation():
            page.get_by_role("link", name="reader0@lab.example").click()
        history = page.locator("section", has=page.get_by_role("heading", name="Bounces and complaints"))
        assert history.get_by_text("user unknown").is_visible()
        page.goto(server + "/admin?refresh=1")
        assert page.locator(".stat", has_text="hard bounces, 30 days").locator(".stat__n").inner_text() == "1"
        assert page.locator(".stat", has_text="complaints, 30 days").locator(".stat__n").inner_text() == "1"
    finally:
        context.close()
    assert checked.errors == []


def test_deleting_a_followed_topic_asks_first(server: str, browser: Any) -> None:
    context, page, checked = signed_in(browser, server, OWNER)
    try:
        page.goto(server + "/admin/topics/robotics")
        assert page.get_by_text("3 subscribers follow this topic").is_visible()
        with page.expect_navigation():
            page.get_by_role("button", name="Delete this topic").click()
        assert page.get_by_role("heading", name="3 subscribers follow this topic").is_visible()
        assert page.get_by_role("button", name="Delete and remove it from their preferences").is_visible()
        checked.shot("topic-delete")
        page.get_by_label("Or merge it into").select_option("llm")
        with page.expect_navigation():
            page.get_by_role("button", name="Delete and merge into this topic").click()
        assert page.get_by_text("its 3 subscribers follow the other topic now").is_visible()
        assert page.get_by_role("link", name="Robotics").count() == 0

        page.goto(server + "/admin/topics/speech-audio")
        with page.expect_navigation():
            page.get_by_role("button", name="Delete this topic").click()
        assert page.get_by_role("heading", name="2 subscribers follow this topic").is_visible()
        with page.expect_navigation():
            page.get_by_role("button", name="Delete and remove it from their preferences").click()
        assert page.get_by_text("removed from 2 subscribers' preferences").is_visible()
        page.goto(server + "/admin/subscribers?q=reader0@")
        with page.expect_navigation():
            page.get_by_role("link", name="reader0@lab.example").click()
        assert page.locator("input[name=topics][value=llm]").is_checked()
        assert page.locator("code", has_text="subscriber.topic_merged").count() == 1
    finally:
        context.close()
    assert checked.errors == []


def test_docs_render_with_the_network_blocked(server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def only_this_machine(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    page = context.new_page()
    checked = CheckedPage(page, 1280, "docs")
    try:
        page.goto(server + "/docs")
        page.locator(".swagger-ui .opblock").first.wait_for(timeout=20_000)
        assert page.locator(".swagger-ui .opblock").count() >= 20
        assert page.locator('.opblock-summary-path[data-path="/api/v1/audit"]').count() == 1
        page.locator('.opblock-summary-path[data-path="/api/v1/audit"]').click()  # an operation opens
        page.get_by_role("button", name="Try it out").first.wait_for()
        checked.shot("swagger")
    finally:
        context.close()
    assert blocked == [] and checked.errors == []
