"""The operator's console: the audit log, admin accounts and their roles (a viewer changes and
exports nothing, on every route), password reset links, the bounce log, safe topic deletion,
sources, deliveries, bulk changes on all matching, and error pages for browsers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.actions.bounces import log_bounce
from service.admin.users import create_admin
from service.storage.db import session_scope
from service.storage.models import AdminUser, AuditLog, Delivery, Source, Subscriber, Topic
from service.web.admin.auth import AdminRoute
from tests.service.web.admin.conftest import ADMIN_EMAIL, BASE, add_subscribers, csrf_of, login, post

VIEWER_EMAIL, VIEWER_PASSWORD = "ann@example.org", "a viewer's long password"
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def viewer(app: FastAPI, settings: Settings) -> Iterator[TestClient]:
    with session_scope(settings) as session:
        create_admin(session, VIEWER_EMAIL, VIEWER_PASSWORD, datetime.now(UTC), role="viewer")
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert login(client, VIEWER_EMAIL, VIEWER_PASSWORD).status_code == 303
        yield client


def audit(settings: Settings, action: str) -> list[AuditLog]:
    with session_scope(settings) as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        session.expunge_all()
        return rows


# -- audit log -------------------------------------------------------------------------------

def test_audit_page_filters_and_links(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "zed@example.org")
    assert post(admin, f"/admin/subscribers/{sid}/status", {"status": "paused"}).status_code == 303
    post(admin, "/admin/topics/agents", {"slug": "agents", "name": "Agents!", "keywords": "agent"},
         page="/admin/topics/agents")
    page = admin.get("/admin/audit?action=subscriber.")
    assert page.status_code == 200 and "subscriber.status.paused" in page.text and "topic.update" not in page.text
    assert f'href="/admin/subscribers/{sid}"' in page.text and "paused" in page.text  # the change, before → after
    by_object = admin.get(f"/admin/audit?type=subscriber&id={sid}").text
    assert "1 matching" in by_object
    assert "admin.login" in admin.get("/admin/audit?actor=ROOT@").text
    assert "0 matching" in admin.get("/admin/audit?actor=api:").text
    bad = admin.get("/admin/audit?since=2026-02-31")
    assert bad.status_code == 400 and "is not a date" in bad.text
    backwards = admin.get("/admin/audit?since=2026-03-02&until=2026-03-01")
    assert backwards.status_code == 400 and "before the start date" in backwards.text
    today = datetime.now(UTC).date()
    assert "subscriber.status.paused" in admin.get(f"/admin/audit?since={today}&until={today}").text
    # Every object's page links to its history.
    assert f"/admin/audit?type=subscriber&amp;id={sid}" in admin.get(f"/admin/subscribers/{sid}").text
    assert "/admin/audit?type=topic&amp;id=agents" in admin.get("/admin/topics/agents").text
    assert "/admin/audit?type=source&amp;id=hf-daily" in admin.get("/admin/sources/hf-daily").text
    assert "/admin/audit?type=api_token" in post(admin, "/admin/tokens", {"name": "x"}, page="/admin/tokens").text


def test_audit_pages_do_not_overlap(settings: Settings, admin: TestClient) -> None:
    with session_scope(settings) as session:
        session.add_all(AuditLog(actor="cli", action=f"test.{i}", target_type="x", target_id=str(i))
                        for i in range(120))
    first = admin.get("/admin/audit?type=x").text
    older = re.search(r'href="(/admin/audit\?[^"]+before=\d+)"', first)
    assert older is not None and "120 matching" in first
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    first_ids = set(re.findall(r"<code>test\.(\d+)</code>", first))
    assert len(first_ids) == 50 and not first_ids & set(re.findall(r"<code>test\.(\d+)</code>", second))


# -- admin accounts and roles -----------------------------------------------------------------

def test_admins_are_added_with_a_one_time_link(settings: Settings, admin: TestClient, anonymous: TestClient) -> None:
    created = post(admin, "/admin/users", {"email": "Ops@Example.org", "role": "viewer"}, page="/admin/users")
    link = re.search(r'id="link-value" class="copy" type="text" value="([^"]+)"', created.text)
    assert created.status_code == 200 and link is not None and "ops@example.org" in created.text
    assert link.group(1) not in admin.get("/admin/users").text  # shown once
    path = link.group(1).removeprefix(settings.base_url)
    form = anonymous.get(path)
    assert form.status_code == 200 and "Choose a password" in form.text
    token = csrf_of(form.text)
    differ = anonymous.post(path, data={"csrf_token": token, "password": "one long password", "password_again": "x"})
    assert differ.status_code == 400 and "differ" in differ.text
    done = anonymous.post(path, data={"csrf_token": token, "password": "one long password",
                                      "password_again": "one long password"})
    assert done.headers["location"] == "/admin/login?done=password-set"
    assert anonymous.get(path).status_code == 410  # used: it works once
    assert login(anonymous, "ops@example.org", "one long password").status_code == 303
    again = post(admin, "/admin/users", {"email": "ops@example.org", "role": "owner"}, page="/admin/users")
    assert again.status_code == 400 and "has an account already" in again.text


def test_roles_disable_and_the_last_owner(settings: Settings, admin: TestClient, viewer: TestClient) -> None:
    with session_scope(settings) as session:
        ids = dict(session.execute(select(AdminUser.email, AdminUser.id)).all())
    root, ann = ids[ADMIN_EMAIL], ids[VIEWER_EMAIL]
    last = post(admin, f"/admin/users/{root}/role", {"role": "viewer"}, page="/admin/users")
    assert last.status_code == 409 and "last active owner" in last.text
    assert post(admin, f"/admin/users/{ann}/disable", page="/admin/users").headers["location"].endswith("done=disabled")
    assert viewer.get("/admin").status_code == 303  # a disabled admin's session ends at once
    assert post(admin, f"/admin/users/{ann}/enable", page="/admin/users").status_code == 303
    linked = post(admin, f"/admin/users/{ann}/reset-link", page="/admin/users")
    assert linked.status_code == 200 and "/admin/reset/" in linked.text
    assert post(admin, f"/admin/users/{ann}/role", {"role": "owner"}, page="/admin/users").status_code == 303
    assert [e.after for e in audit(settings, "admin.role")] == [{"role": "owner"}]
    assert admin.get("/admin/users/999").status_code == 404


def admin_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every /admin route, through included routers."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    found = []
    for entry in (iterate(app.routes) if iterate is not None else app.routes):
        route, path = getattr(entry, "route", entry), getattr(entry, "path", "")
        if isinstance(route, APIRoute) and path.startswith("/admin"):
            found.append((path, route))
    return found


def test_every_admin_route_is_guarded_by_the_route_class(app: FastAPI) -> None:
    routes = admin_routes(app)
    assert len(routes) > 40 and all(isinstance(route, AdminRoute) for _, route in routes)


def test_a_viewer_reads_but_changes_and_exports_nothing(settings: Settings, app: FastAPI, viewer: TestClient) -> None:
    [sid] = add_subscribers(settings, "zed@example.org")
    for path in ("/admin", "/admin/subscribers", f"/admin/subscribers/{sid}", "/admin/topics", "/admin/topics/llm",
                 "/admin/sources", "/admin/deliveries", "/admin/bounces", "/admin/audit", "/admin/users",
                 "/admin/tokens", "/admin/outbox"):
        page = viewer.get(path)
        assert page.status_code == 200, path
        # No form that changes anything is offered: the only POST form left is signing out.
        assert set(re.findall(r'<form method="post" action="([^"]+)"', page.text)) == {"/admin/logout"}, path
    assert "Import / export" not in viewer.get("/admin").text
    for path in ("/admin/export.csv", "/admin/import"):
        refused = viewer.get(path)
        assert refused.status_code == 403 and "cannot take addresses out" in refused.text, path
    # Every POST route but signing out refuses a viewer before it does anything.
    posts = sorted({path for path, route in admin_routes(app) if "POST" in route.methods}
                   - {"/admin/login", "/admin/logout", "/admin/reset/{token}"})
    assert len(posts) > 20
    token = csrf_of(viewer.get("/admin").text)
    for path in posts:
        concrete = re.sub(r"\{[a-z_]+\}", lambda m: str(sid) if "id" in m.group(0) else "llm", path)
        response = viewer.post(concrete, data={"csrf_token": token, "status": "paused", "name": "x", "action": "pause",
                                               "ids": str(sid), "role": "owner", "confirm": "erase"})
        assert response.status_code == 403, concrete
    with session_scope(settings) as session:
        assert session.get(Subscriber, sid).status == "active"  # type: ignore[union-attr]
        assert session.scalar(select(Topic.id).where(Topic.slug == "llm")) is not None
        actions = set(session.scalars(select(AuditLog.action)))
    assert actions <= {"admin.login"}
    assert viewer.post("/admin/logout", data={"csrf_token": token}).headers["location"].startswith("/admin/login")


# -- bounces ----------------------------------------------------------------------------------

def test_bounce_log_page_subscriber_history_and_dashboard(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "bouncy@example.org")
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        log_bounce(session, kind="hard", address="bouncy@example.org", source="webhook", detail="ses",
                   diagnostic="smtp; 550 5.1.1 user unknown", outcome="suppressed", subscriber_id=sid, at=now)
        log_bounce(session, kind="complaint", address="other@lab.example", source="inbound", detail="imap",
                   diagnostic="abuse report", outcome="unknown_address", at=now - timedelta(days=3))
        log_bounce(session, kind="soft", address="old@lab.example", source="smtp", outcome="counted",
                   at=now - timedelta(days=60))
    page = admin.get("/admin/bounces")
    assert page.status_code == 200 and "3 matching" in page.text
    assert "smtp; 550 5.1.1 user unknown" in page.text and f'href="/admin/subscribers/{sid}"' in page.text
    assert "1 matching" in admin.get("/admin/bounces?kind=complaint").text
    assert "2 matching" in admin.get("/admin/bounces?address=lab.example").text
    assert "1 matching" in admin.get("/admin/bounces?source=webhook").text
    assert admin.get("/admin/bounces?until=yesterday").status_code == 400
    detail = admin.get(f"/admin/subscribers/{sid}").text
    assert "Bounces and complaints" in detail and "smtp; 550 5.1.1 user unknown" in detail
    dashboard = admin.get("/admin?refresh=1").text
    assert re.search(r'stat__n">1</span><span class="stat__label">hard bounces, 30 days', dashboard)
    assert re.search(r'stat__n">1</span><span class="stat__label">complaints, 30 days', dashboard)
    assert re.search(r'stat__n">0</span><span class="stat__label">soft bounces, 30 days', dashboard)


# -- topics -----------------------------------------------------------------------------------

def test_deleting_a_followed_topic_asks_with_the_count(settings: Settings, admin: TestClient) -> None:
    add_subscribers(settings, "a@example.org", "b@example.org", preferences={"topics": ["robotics", "llm"]})
    add_subscribers(settings, "c@example.org", preferences={"topics": ["robotics"]})
    asked = post(admin, "/admin/topics/robotics/delete", page="/admin/topics/robotics")
    assert asked.status_code == 409 and "3 subscribers follow" in asked.text
    assert 'name="then" value="remove"' in asked.text and 'name="then" value="merge"' in asked.text
    with session_scope(settings) as session:
        assert session.scalar(select(Topic.id).where(Topic.slug == "robotics")) is not None
    merged = post(admin, "/admin/topics/robotics/delete", {"then": "merge", "into": "llm"}, page="/admin/topics")
    assert merged.headers["location"].startswith("/admin/topics?done=merged")
    assert "its 3 subscribers follow the other topic" in admin.get(merged.headers["location"]).text
    with session_scope(settings) as session:
        prefs = {s.email: s.preferences["topics"] for s in session.scalars(select(Subscriber))}
    assert prefs == {"a@example.org": ["llm"], "b@example.org": ["llm"], "c@example.org": ["llm"]}
    removed = post(admin, "/admin/topics/llm/delete", {"then": "remove"}, page="/admin/topics")
    assert "removed from 3 subscribers" in admin.get(removed.headers["location"]).text
    assert post(admin, "/admin/topics/agents/delete", page="/admin/topics").headers["location"] == \
        "/admin/topics?done=deleted&n_moved=0"  # nobody followed it: no question


def test_a_topic_rename_keeps_its_followers(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "a@example.org", preferences={"topics": ["agents"]})
    form = {"slug": "ai-agents", "name": "AI agents", "keywords": "agent, tool use"}
    renamed = post(admin, "/admin/topics/agents", form, page="/admin/topics/agents")
    assert renamed.headers["location"].startswith("/admin/topics/ai-agents?done=renamed")
    with session_scope(settings) as session:
        assert session.get(Subscriber, sid).preferences["topics"] == ["ai-agents"]  # type: ignore[union-attr]
    taken = post(admin, "/admin/topics/ai-agents", {**form, "slug": "llm"}, page="/admin/topics/ai-agents")
    assert taken.status_code == 400 and "exists already" in taken.text


# -- sources ----------------------------------------------------------------------------------

def test_source_form_errors_are_all_given_in_words(admin: TestClient) -> None:
    form = {"name": "Bad Name", "kind": "gopher", "url": "http://169.254.169.254/latest/", "poll_interval_minutes": "0"}
    refused = post(admin, "/admin/sources", form, page="/admin/sources")
    assert refused.status_code == 400
    for words in ("lowercase letters, digits", "choose one of", "link-local", "from 1 to 10080"):
        assert words in refused.text, words
    assert "String should match pattern" not in refused.text and "^[a-z0-9]" not in refused.text


def test_sources_show_their_url_and_can_be_deleted(settings: Settings, admin: TestClient) -> None:
    form = {"name": "lab-blog", "kind": "feed", "url": "https://lab.example.org/feed.xml", "poll_interval_minutes": "60",
            "enabled": "yes"}
    assert post(admin, "/admin/sources", form, page="/admin/sources").status_code == 303
    listing = admin.get("/admin/sources").text
    assert "https://lab.example.org/feed.xml" in listing and "https://huggingface.co/api/daily_papers" in listing
    configured = post(admin, "/admin/sources/hf-daily/delete", page="/admin/sources/hf-daily")
    assert configured.status_code == 409 and "PAPERMAIL_SOURCES" in configured.text
    assert post(admin, "/admin/sources/lab-blog/delete", page="/admin/sources").headers["location"].endswith(
        "done=deleted")
    with session_scope(settings) as session:
        assert session.scalar(select(Source.id).where(Source.name == "lab-blog")) is None


# -- deliveries ---------------------------------------------------------------------------------

def test_deliveries_substring_date_errors_and_the_message_as_sent(settings: Settings, admin: TestClient) -> None:
    [alice] = add_subscribers(settings, "alice@lab.example")
    message_id = "<d1.abc@papermail.test>"
    from service.mail import OutboxBackend
    raw = f"To: alice@lab.example\r\nSubject: Your digest\r\nMessage-ID: {message_id}\r\n\r\nhello\r\n".encode()
    name = OutboxBackend(settings.outbox_dir).send("d@papermail.test", "alice@lab.example", raw).reply
    with session_scope(settings) as session:
        delivery = Delivery(subscriber_id=alice, period="2026-11-27", status="sent", sent_at=datetime.now(UTC),
                            message_id=message_id, paper_count=0)
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    assert "1 matching" in admin.get("/admin/deliveries?subscriber=LAB.example").text
    bad = admin.get("/admin/deliveries?since=2026-13-01")
    assert bad.status_code == 400 and "“2026-13-01” is not a date" in bad.text
    detail = admin.get(f"/admin/deliveries/{delivery_id}")
    assert detail.status_code == 200 and f'href="/admin/outbox/{name}"' in detail.text
    assert f'href="/admin/deliveries/{delivery_id}"' in admin.get("/admin/deliveries").text
    assert admin.get("/admin/deliveries/999").status_code == 404


# -- bulk ---------------------------------------------------------------------------------------

def test_bulk_on_all_matching_with_counts(settings: Settings, admin: TestClient) -> None:
    add_subscribers(settings, *(f"r{i:02d}@lab.example" for i in range(60)))
    add_subscribers(settings, "keep@other.example")
    add_subscribers(settings, "already@lab.example", status="paused")
    page = admin.get("/admin/subscribers?q=lab.example")
    assert "all 61 matching" in page.text
    done = post(admin, "/admin/subscribers/bulk", {"action": "pause", "scope": "all",
                                                     "return_to": "/admin/subscribers?q=lab.example"})
    assert "60 subscribers changed; 1 already were." in admin.get(done.headers["location"]).text
    with session_scope(settings) as session:
        statuses = dict(session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses["keep@other.example"] == "active" and statuses["r59@lab.example"] == "paused"
    ids = [str(i) for i in range(1, 4)]
    picked = post(admin, "/admin/subscribers/bulk", {"action": "resume", "ids": ids, "return_to": "/admin/subscribers"})
    assert "3 subscribers changed; 0 already were." in admin.get(picked.headers["location"]).text


# -- error pages and names ------------------------------------------------------------------------

def test_browsers_get_html_error_pages(admin: TestClient, anonymous: TestClient) -> None:
    wrong = admin.get("/admin/subscribers/abc", headers=HTML)
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("text/html")
    assert "must be a whole number" in wrong.text
    missing = anonymous.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404 and "Page not found" in missing.text and "<html" in missing.text
    method = anonymous.delete("/admin/login", headers=HTML)
    assert method.status_code == 405 and "cannot be used with DELETE" in method.text
    assert anonymous.get("/no/such/page").json() == {"detail": "Not Found"}  # a script asked for no HTML
    api = anonymous.get("/api/v1/nope", headers=HTML)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_one_name_for_the_paused_status(settings: Settings, admin: TestClient) -> None:
    [sid] = add_subscribers(settings, "p@example.org", status="paused")
    for page in (admin.get(f"/admin/subscribers/{sid}").text, admin.get("/admin?refresh=1").text,
                 admin.get("/admin/subscribers").text):
        assert "suspend" not in page.lower()
    assert ">paused<" in admin.get(f"/admin/subscribers/{sid}").text
