"""Subscribers in the admin: search, filters, keyset pages (and their speed at 100,000 rows),
the detail page, edits with their audit rows, status changes, erase, bulk actions."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from config.settings import Settings
from service.storage.db import session_scope
from service.mail import memory_outbox
from service.storage.models import AuditLog, Delivery, Subscriber
from service.ingest.poll import ingest_document
from service.web.admin.listing import SubscriberQuery, subscriber_page
from tests.service.ingest.documents import hf_item, hf_json
from tests.service.web.admin.conftest import ADMIN_EMAIL, add_subscribers, post

ROW = re.compile(r'<a href="/admin/subscribers/(\d+)">')


def bulk_insert(settings: Settings, count: int, start: int = 0) -> None:
    now = datetime.now(UTC)
    topics = (["llm"], ["agents", "llm"], ["vision"], [])
    rows = [{"email": f"user{i:06d}@{'example.org' if i % 2 else 'lab.example'}", "created_at": now, "updated_at": now,
             "status": ("active", "pending", "paused", "unsubscribed")[i % 4],
             "frequency": ("daily", "weekly")[i % 2], "preferences": {"topics": topics[i % 4]}}
            for i in range(start, start + count)]
    with session_scope(settings) as session:
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Subscriber), rows[chunk:chunk + 5000])


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def walk(client: TestClient, first: str) -> list[int]:
    """Every id on every page, following the Next links."""
    seen, url = [], first
    while url:
        html = client.get(url).text
        seen += ids_on(html)
        found = re.search(r'href="(/admin/subscribers\?[^"]*)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    return seen


def test_search_filter_sort_and_pages(settings: Settings, admin: TestClient) -> None:
    bulk_insert(settings, 300)
    page = admin.get("/admin/subscribers")
    assert "300 matching" in page.text and len(ids_on(page.text)) == 50
    assert ids_on(page.text) == sorted(ids_on(page.text), reverse=True)  # newest first
    every = walk(admin, "/admin/subscribers")
    assert len(every) == 300 and len(set(every)) == 300
    by_address = walk(admin, "/admin/subscribers?sort=email")
    with session_scope(settings) as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    assert [emails[i] for i in by_address] == sorted(emails.values())
    # Filters combine; the counts are exact.
    assert "75 matching" in admin.get("/admin/subscribers?status=pending").text
    assert "150 matching" in admin.get("/admin/subscribers?q=LAB.example").text
    assert len(walk(admin, "/admin/subscribers?topic=llm&frequency=weekly&sort=email-desc")) == 75
    assert "0 matching" in admin.get("/admin/subscribers?q=%25").text  # a LIKE wildcard is searched for literally
    # Previous goes back to exactly the page before.
    second = admin.get("/admin/subscribers?sort=email").text
    nxt = re.search(r'href="(/admin/subscribers\?[^"]*)" rel="next"', second).group(1).replace("&amp;", "&")
    prev = re.search(r'href="(/admin/subscribers\?[^"]*)" rel="prev"', admin.get(nxt).text).group(1).replace("&amp;", "&")
    assert ids_on(admin.get(prev).text) == ids_on(second)


def test_list_speed_at_100k_rows(settings: Settings, admin: TestClient) -> None:
    """A benchmark, printed, not asserted: pages must stay index scans at 100,000 rows."""
    bulk_insert(settings, 100_000)
    started = time.perf_counter()
    assert "100,000 matching" in admin.get("/admin/subscribers?sort=email").text
    print(f"\n100k subscribers, whole HTTP page sorted by address: {(time.perf_counter() - started) * 1000:.1f} ms")
    cases = {"newest": SubscriberQuery(), "by address": SubscriberQuery(sort="email"),
             "status": SubscriberQuery(status="paused"), "search": SubscriberQuery(q="user0999"),
             "topic": SubscriberQuery(topic="vision")}
    with session_scope(settings) as session:
        for name, query in cases.items():
            started = time.perf_counter()
            first = subscriber_page(session, query)
            deep = subscriber_page(session, query, after=first.next_after) if first.next_after else first
            took = (time.perf_counter() - started) * 1000 / 2
            print(f"\n100k subscribers, {name}: {took:.1f} ms a page ({first.total:,} matching)")
            assert deep.rows or not first.next_after


def test_detail_page_shows_preferences_history_deliveries_and_preview(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "alice@example.org", preferences={"topics": ["llm"], "keywords": ["rlhf"]})
    with session_scope(settings) as session:
        session.add(Delivery(subscriber_id=sid, period="2026-01-02", status="failed", error="550 mailbox <b>gone</b>"))
    page = admin.get(f"/admin/subscribers/{sid}")
    assert page.status_code == 200
    assert "alice@example.org" in page.text and 'value="rlhf"' in page.text
    assert "550 mailbox &lt;b&gt;gone&lt;/b&gt;" in page.text  # feed and SMTP text is escaped
    assert f'src="/admin/subscribers/{sid}/preview"' in page.text
    preview = admin.get(f"/admin/subscribers/{sid}/preview")
    assert preview.status_code == 200 and "<html" in preview.text.lower()
    assert "script-src" not in preview.headers["content-security-policy"]  # default-src 'none': no script at all
    assert admin.get("/admin/subscribers/999999").status_code == 404


def test_the_ranking_page_shows_every_candidate_with_the_parts_of_its_score(settings: Settings,
                                                                            admin: TestClient) -> None:
    today = datetime.now(UTC).date().isoformat()
    ingest_document(settings, hf_json(hf_item("2612.00001", "Two-bit <i>quantization</i>", 40, day=today),
                                      hf_item("2612.00002", "Sparse attention", 3, summary="Attention, sparse.",
                                              day=today)), source_name="hf-daily")
    [sid] = add_subscribers(settings, "carol@example.org", preferences={"keywords": ["quantization"]})
    detail = admin.get(f"/admin/subscribers/{sid}")
    assert f'href="/admin/subscribers/{sid}/ranking"' in detail.text
    page = admin.get(f"/admin/subscribers/{sid}/ranking")
    assert page.status_code == 200
    [row] = re.findall(r"<tr><td class=\"num\">1</td>(.*?)</tr>", page.text, re.S)  # the one candidate
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert "Two-bit quantization" in cells[0] and "<i>" not in cells[0]  # a feed's markup never reaches the page
    score, parts = float(cells[1]), [float(c) if c != "·" else 0.0 for c in cells[2:8]]
    # keywords: in the title (5); upvotes: 40 ≥ 10 (0.25); recency: ingested just now (0.25)
    assert (score, parts) == (5.5, [5.0, 0, 0, 0, 0.25, 0.25]) and sum(parts) == score
    assert "quantization" in cells[8]  # the reason names the matched word
    assert admin.get("/admin/subscribers/999999/ranking").status_code == 404


def test_edit_writes_the_audit_log(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "bob@example.org")
    page = f"/admin/subscribers/{sid}"
    form = {"email": "Bob.New@Example.org", "topics": ["llm", "agents"], "keywords": "diffusion, \"mixture of experts\"",
            "exclude": "", "authors": "", "frequency": "weekly", "weekly_day": "fri", "send_hour": "7",
            "timezone": "Europe/Paris", "max_papers": "5", "min_upvotes": "0"}
    response = post(admin, page, form, page=page)
    assert response.status_code == 303 and response.headers["location"] == f"{page}?done=saved"
    with session_scope(settings) as session:
        bob = session.get(Subscriber, sid)
        assert (bob.email, bob.frequency, bob.send_hour, bob.timezone) == ("bob.new@example.org", "weekly", 7, "Europe/Paris")
        assert bob.preferences["keywords"] == ["diffusion", "mixture of experts"]
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "subscriber.update")).one()
        assert entry.actor == ADMIN_EMAIL and entry.target_id == str(sid)
        assert entry.before["email"] == "bob@example.org" and entry.after["email"] == "bob.new@example.org"
    assert "subscriber.update" in admin.get(page).text  # the status history shows it
    bad = post(admin, page, {**form, "email": "not an address", "send_hour": "25"}, page=page)
    assert bad.status_code == 400 and "field--error" in bad.text


def test_status_changes_resend_and_lift(settings: Settings, admin: TestClient) -> None:
    [active] = add_subscribers(settings, "carol@example.org")
    [pending] = add_subscribers(settings, "dave@example.org", status="pending")
    [stopped] = add_subscribers(settings, "erin@example.org", status="suppressed", suppressed_reason="hard bounce: 550")
    page = f"/admin/subscribers/{active}"
    assert post(admin, f"{page}/status", {"status": "paused"}, page=page).headers["location"].endswith("done=paused")
    assert post(admin, f"{page}/status", {"status": "active"}, page=page).status_code == 303
    assert post(admin, f"{page}/status", {"status": "erased"}, page=page).status_code == 400
    assert post(admin, f"/admin/subscribers/{pending}/resend-confirmation", page=page).status_code == 303
    assert [m.to for m in memory_outbox()] == ["dave@example.org"]
    assert "hard bounce: 550" in admin.get(f"/admin/subscribers/{stopped}").text
    assert post(admin, f"/admin/subscribers/{stopped}/lift-suppression", page=page).status_code == 303
    with session_scope(settings) as session:
        assert session.get(Subscriber, active).status == "active"
        assert session.get(Subscriber, stopped).status == "pending"  # never confirmed: back to pending
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"subscriber.status.paused", "subscriber.status.active", "subscriber.resend_confirmation",
            "subscriber.lift_suppression"} <= actions


def test_send_a_test_digest_to_the_admin(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "frank@example.org")
    page = f"/admin/subscribers/{sid}"
    assert post(admin, f"{page}/test-digest", page=page).headers["location"].endswith("done=test")
    [mail] = memory_outbox()
    assert mail.to == ADMIN_EMAIL and str(mail.message["Subject"]).startswith("[Test]")


def test_erase_needs_confirmation_then_removes_the_address(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "grace@example.org")
    page = f"/admin/subscribers/{sid}"
    assert post(admin, f"{page}/erase", page=page).headers["location"].endswith("done=erase-unconfirmed")
    response = post(admin, f"{page}/erase", {"confirm": "erase"}, page=page)
    assert response.headers["location"] == "/admin/subscribers?done=erased"
    with session_scope(settings) as session:
        row = session.get(Subscriber, sid)
        assert row.status == "erased" and "grace" not in row.email
        assert session.scalars(select(AuditLog).where(AuditLog.action == "subscriber.erase")).one().actor == ADMIN_EMAIL
    assert "grace@example.org" not in admin.get(page).text
    assert str(sid) not in ids_on(admin.get("/admin/subscribers").text)  # tombstones are not listed by default


def test_bulk_actions_change_the_selection_only(settings: Settings, admin: TestClient) -> None:
    ids = add_subscribers(settings, *(f"bulk{i}@example.org" for i in range(5)))
    back = "/admin/subscribers?q=bulk&done=old"
    response = post(admin, "/admin/subscribers/bulk", {"action": "pause", "ids": [str(i) for i in ids[:3]],
                                                        "return_to": back})
    assert response.headers["location"] == "/admin/subscribers?q=bulk&done=bulk&n_changed=3&n_same=0"
    with session_scope(settings) as session:
        statuses = [session.get(Subscriber, i).status for i in ids]
        assert statuses == ["paused"] * 3 + ["active"] * 2
        assert session.query(AuditLog).filter_by(action="subscriber.status.paused").count() == 3
    off_site = post(admin, "/admin/subscribers/bulk", {"action": "resume", "ids": [str(ids[0])],
                                                        "return_to": "https://evil.example/admin/subscribers"})
    assert off_site.headers["location"] == "/admin/subscribers?done=bulk&n_changed=1&n_same=0"
    assert post(admin, "/admin/subscribers/bulk", {"action": "explode", "ids": [str(ids[0])]}).headers[
        "location"].endswith("done=none")


def test_topic_filter_and_keyset_pages_on_each_database(db_settings: Settings) -> None:
    """The topic filter reads JSON: SQLite's json_each and PostgreSQL's jsonb ? both answer it."""
    with session_scope(db_settings) as session:
        session.add_all([Subscriber(email=f"u{i}@example.org", status="active",
                                    preferences={"topics": ["llm"] if i % 2 else ["agents"], "keywords": ["llm"]})
                         for i in range(7)])
    with session_scope(db_settings) as session:
        first = subscriber_page(session, SubscriberQuery(topic="llm", sort="email"), size=2)
        assert first.total == 3 and [s.email for s in first.rows] == ["u1@example.org", "u3@example.org"]
        rest = subscriber_page(session, SubscriberQuery(topic="llm", sort="email"), after=first.next_after, size=2)
        assert [s.email for s in rest.rows] == ["u5@example.org"] and rest.next_after is None
        back = subscriber_page(session, SubscriberQuery(topic="llm", sort="email"), before=rest.prev_before, size=2)
        assert [s.email for s in back.rows] == [s.email for s in first.rows]
