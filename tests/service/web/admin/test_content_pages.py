"""Import/export, topics, sources, deliveries, API tokens and the outbox in the admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.demo.cast import sample_papers_path
from service.ingest.poll import ingest_document
from service.mail import OutboxBackend
from service.storage.models import AuditLog, Delivery, Source, Subscriber
from service.topics.store import papers_per_topic
from tests.service.web.admin.conftest import ADMIN_EMAIL, add_subscribers, csrf_of, post
from tests.support.http_server import Canned, ScriptedServer

CSV = ("email,topics,keywords,frequency,status\n"
       "ann@example.org,llm;agents,rlhf,daily,\n"
       "not-an-address,,,,\n"
       "ben@example.org,no-such-topic,,,\n"
       "ANN@example.org,,,,\n"
       "taken@example.org,,,,\n"
       "cy@example.org,,\"diffusion; \"\"a;b\"\"\",weekly,active\n")


def upload(client: TestClient, body: str, mode: str, consent: bool = False) -> object:
    token = csrf_of(client.get("/admin/import").text)
    data = {"csrf_token": token, "mode": mode, **({"consent": "yes"} if consent else {})}
    return client.post("/admin/import/check", data=data, files={"file": ("people.csv", body.encode(), "text/csv")})


def test_import_dry_run_reports_each_row_then_imports(settings: Settings, admin: TestClient) -> None:
    add_subscribers(settings, "taken@example.org")
    report = upload(admin, CSV, "confirmed", consent=True)
    assert report.status_code == 200, report.text  # type: ignore[attr-defined]
    html = report.text  # type: ignore[attr-defined]
    for line, kind in ((3, "invalid address"), (4, "unknown topic"), (5, "duplicate"), (6, "duplicate")):
        assert re.search(rf'<td class="num">{line}</td>.*?{kind}', html, re.DOTALL), (line, kind)
    assert "<strong>2</strong> rows would be imported" in html
    with session_scope(settings) as session:  # a dry run writes nothing
        assert session.query(Subscriber).count() == 1
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', html).group(1)
    done = admin.post("/admin/import/run", data={"csrf_token": csrf_of(html), "upload": upload_id, "mode": "confirmed"})
    assert done.status_code == 200 and 'id="import-done"' in done.text and "imported 2 (2 active)" in done.text
    with session_scope(settings) as session:
        cy = session.scalars(select(Subscriber).where(Subscriber.email == "cy@example.org")).one()
        assert cy.status == "active" and cy.preferences["keywords"] == ["diffusion", "a;b"]
        assert session.query(AuditLog).filter_by(action="subscribers.import", actor=ADMIN_EMAIL).count() == 1
    again = admin.post("/admin/import/run", data={"csrf_token": csrf_of(html), "upload": upload_id, "mode": "confirmed"})
    assert again.status_code == 404  # the upload is used up


def test_import_refuses_confirmed_without_consent_and_bad_files(admin: TestClient) -> None:
    assert upload(admin, CSV, "confirmed").status_code == 400  # type: ignore[attr-defined]
    bad = upload(admin, "name,age\nx,1\n", "pending")
    assert bad.status_code == 400 and "unknown column" in bad.text  # type: ignore[attr-defined]


def test_pending_import_queues_confirmations_and_export_streams(settings: Settings, admin: TestClient) -> None:
    html = upload(admin, "email\nzoe@example.org\nyan@example.org\n", "pending").text  # type: ignore[attr-defined]
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', html).group(1)
    done = admin.post("/admin/import/run", data={"csrf_token": csrf_of(html), "upload": upload_id, "mode": "pending"})
    assert "2 confirmation mails queued" in done.text
    assert len(list((settings.broker_dir / "queue").glob("*.msg"))) == 2  # throttled by the workers, not sent here
    export = admin.get("/admin/export.csv")
    assert export.headers["content-type"].startswith("text/csv") and "attachment" in export.headers["content-disposition"]
    lines = export.text.splitlines()
    assert lines[0].startswith("email,topics") and {"zoe@example.org", "yan@example.org"} <= {line.split(",")[0] for line in lines}


def test_topic_changes_reclassify_papers(settings: Settings, admin: TestClient) -> None:
    ingest_document(settings, sample_papers_path().read_bytes(), source_name="demo", fmt="hf", now=datetime.now(UTC))
    form = {"slug": "wide-net", "name": "Wide net", "keywords": "model, models, learning", "categories": "cs.LG"}
    response = post(admin, "/admin/topics", form, page="/admin/topics")
    assert response.headers["location"] == "/admin/topics?done=created"
    with session_scope(settings) as session:
        assert papers_per_topic(session)["wide-net"] > 0  # re-classified after the response
    bad = post(admin, "/admin/topics", {**form, "slug": "Bad Slug"}, page="/admin/topics")
    assert bad.status_code == 400 and "lowercase words" in bad.text
    edit = post(admin, "/admin/topics/wide-net", {**form, "name": "Wide", "keywords": "zzqx-never-seen",
                                                  "categories": "math.XX"}, page="/admin/topics")
    assert edit.status_code == 303
    with session_scope(settings) as session:
        assert papers_per_topic(session)["wide-net"] == 0
    assert post(admin, "/admin/topics/wide-net/delete", page="/admin/topics").status_code == 303
    with session_scope(settings) as session:
        assert "wide-net" not in papers_per_topic(session)
        assert {"topic.create", "topic.update", "topic.delete"} <= set(session.scalars(select(AuditLog.action)))


def test_source_ingest_now_polls_in_the_background(settings: Settings, admin: TestClient) -> None:
    settings.source_allow_private_urls = True  # the test's feed is on 127.0.0.1
    with ScriptedServer() as server:
        server.script("/daily", Canned(200, sample_papers_path().read_bytes(), {"Content-Type": "application/json"}),
                      Canned(500, b"down"))
        form = {"name": "local-hf", "kind": "hf_daily", "url": server.url("/daily"), "poll_interval_minutes": "30",
                "enabled": "yes"}
        assert post(admin, "/admin/sources", form, page="/admin/sources").headers["location"].endswith("done=created")
        assert post(admin, "/admin/sources", {**form, "url": "ftp://x"}, page="/admin/sources").status_code == 400
        assert post(admin, "/admin/sources/local-hf/ingest", page="/admin/sources").status_code == 303
        with session_scope(settings) as session:
            source = session.scalars(select(Source).where(Source.name == "local-hf")).one()
            assert source.last_success_at is not None and source.items_last_poll == 40  # the sample file's papers
        assert "badge--h-ok" in admin.get("/admin/sources/local-hf").text
        post(admin, "/admin/sources/local-hf/ingest", page="/admin/sources")
        page = admin.get("/admin/sources").text
        assert len(server.seen("/daily")) == 2
    assert "badge--h-broken" in page and "HTTP 500" in page
    assert post(admin, "/admin/sources/local-hf/disable", page="/admin/sources").status_code == 303
    with session_scope(settings) as session:
        assert session.scalars(select(Source.enabled).where(Source.name == "local-hf")).one() is False


def test_deliveries_filter_and_retry(settings: Settings, admin: TestClient) -> None:
    [alice, bob] = add_subscribers(settings, "alice@example.org", "bob@example.org")
    with session_scope(settings) as session:
        failed = Delivery(subscriber_id=alice, period="2026-01-01", status="failed", attempts=6, error="451 try later")
        session.add_all([failed, Delivery(subscriber_id=bob, period="2026-01-01", status="sent")])
        session.flush()
        failed_id = failed.id
    page = admin.get("/admin/deliveries?status=failed").text
    assert "1 matching" in page and "451 try later" in page
    assert "1 matching" in admin.get("/admin/deliveries?subscriber=bob@example.org").text
    assert "0 matching" in admin.get("/admin/deliveries?since=2999-01-01").text
    response = post(admin, f"/admin/deliveries/{failed_id}/retry", {"return_to": "/admin/deliveries?status=failed"})
    assert response.headers["location"] == "/admin/deliveries?status=failed&done=retried"
    with session_scope(settings) as session:
        assert session.get(Delivery, failed_id).status == "claimed"
    assert len(list((settings.broker_dir / "queue").glob("*.digests.msg"))) == 1
    assert post(admin, f"/admin/deliveries/{failed_id}/retry").status_code == 409


def test_dashboard_draws_escaped_svg(settings: Settings, admin: TestClient) -> None:
    add_subscribers(settings, "kw@example.org", preferences={"topics": ["llm"], "keywords": ["<script>alert(1)</script>"]})
    page = admin.get("/admin?refresh=1")
    assert page.status_code == 200 and page.text.count("<svg") == 4
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text


def test_api_tokens_are_shown_once_and_revocable(settings: Settings, admin: TestClient) -> None:
    created = post(admin, "/admin/tokens", {"name": "crm sync"}, page="/admin/tokens")
    token = re.search(r'id="token-value" class="copy" type="text" value="(pm_[^"]+)"', created.text).group(1)
    assert TestClient(admin.app).get("/api/v1/topics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = admin.get("/admin/tokens").text
    assert "crm sync" in listing and token not in listing
    token_id = re.search(r'/admin/tokens/(\d+)/revoke', listing).group(1)
    assert post(admin, f"/admin/tokens/{token_id}/revoke").headers["location"] == "/admin/tokens?done=revoked"
    assert TestClient(admin.app).get("/api/v1/topics", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_outbox_lists_and_shows_messages(settings: Settings, admin: TestClient) -> None:
    raw = (b"From: papermail <digest@papermail.test>\r\nTo: reader@example.org\r\nSubject: Hello <there>\r\n"
           b"Message-ID: <x@papermail.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nplain body\r\n--b\r\nContent-Type: text/html\r\n\r\n"
           b"<p style='color:red'>html body</p>\r\n--b--\r\n")
    name = OutboxBackend(settings.outbox_dir).send("d@papermail.test", "reader@example.org", raw).reply
    listing = admin.get("/admin/outbox").text
    assert "reader@example.org" in listing and "Hello &lt;there&gt;" in listing
    message = admin.get(f"/admin/outbox/{name}")
    assert "plain body" in message.text and f"/admin/outbox/{name}/html" in message.text
    html = admin.get(f"/admin/outbox/{name}/html")
    assert "html body" in html.text and html.headers["content-security-policy"].startswith("default-src 'none'")
    assert admin.get(f"/admin/outbox/{name}/raw").content == raw
    assert admin.get("/admin/outbox/..%2Fpapermail.sqlite3").status_code == 404


def test_source_edit_keeps_what_was_typed_on_an_error_then_saves(settings: Settings, admin: TestClient) -> None:
    settings.source_allow_private_urls = True
    form = {"name": "edited", "kind": "hf_daily", "url": "http://127.0.0.1:9/daily", "poll_interval_minutes": "30",
            "enabled": "yes"}
    assert post(admin, "/admin/sources", form, page="/admin/sources").status_code == 303
    refused = post(admin, "/admin/sources/edited", {**form, "url": "ftp://typed.example/x"}, page="/admin/sources/edited")
    assert refused.status_code == 400
    assert "must start with http:// or https://" in refused.text and "ftp://typed.example/x" in refused.text
    saved = post(admin, "/admin/sources/edited", {**form, "poll_interval_minutes": "90"}, page="/admin/sources/edited")
    assert saved.headers["location"].endswith("done=saved")
    with session_scope(settings) as session:
        source = session.scalars(select(Source).where(Source.name == "edited")).one()
        assert (source.url, source.poll_interval_minutes) == ("http://127.0.0.1:9/daily", 90)
    assert admin.get("/admin/sources/nope").status_code == 404


def test_import_with_update_updates_existing_subscribers(settings: Settings, admin: TestClient) -> None:
    add_subscribers(settings, "taken@example.org")
    token = csrf_of(admin.get("/admin/import").text)
    assert 'name="update" value="yes"' in admin.get("/admin/import").text
    body = "email,keywords\ntaken@example.org,robots\n"
    report = admin.post("/admin/import/check", data={"csrf_token": token, "mode": "pending", "update": "yes"},
                        files={"file": ("people.csv", body.encode(), "text/csv")})
    assert report.status_code == 200 and "<strong>1</strong> existing subscriber would be updated" in report.text
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', report.text).group(1)  # type: ignore[union-attr]
    done = admin.post("/admin/import/run", data={"csrf_token": csrf_of(report.text), "upload": upload_id,
                                                 "mode": "pending", "update": "yes"})
    assert "updated 1 existing (0 unchanged)" in done.text and "confirmation mails queued" not in done.text
    with session_scope(settings) as session:
        taken = session.scalars(select(Subscriber).where(Subscriber.email == "taken@example.org")).one()
        assert taken.status == "active" and taken.preferences["keywords"] == ["robots"]
    assert list((settings.broker_dir / "queue").glob("*.msg")) == []
