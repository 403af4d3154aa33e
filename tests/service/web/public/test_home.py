"""/ and the sign-up form: the latest day's papers (escaped), day, week and month views, search
and the topic filter, the taxonomy's topics, double opt-in, no enumeration, resend throttles,
bad input, CSRF and rate limits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from config.settings import Settings
from service.catalog.cards import paper_day
from service.storage.db import session_scope
from service.storage.models import Paper, Source, Subscriber
from service.web.app import create_app
from service.web.templating import WEB_TEMPLATES_DIR
from tests.service.web.public.conftest import BASE, csrf_token, mails_to, subscribe


def count_subscribers(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(Subscriber)) or 0


def latest_day(settings: Settings) -> tuple[date, list[Paper]]:
    with session_scope(settings) as session:
        papers = list(session.scalars(select(Paper)))
    day = max(paper_day(p) for p in papers)
    return day, [p for p in papers if paper_day(p) == day]


def test_home_shows_the_latest_day_topics_and_the_form(client: TestClient, site: Settings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    day, papers = latest_day(site)
    assert f'<h1 id="papers-title">{day:%a}, {day:%b} {day.day}, {day.year}</h1>' in html
    assert html.count('<article class="pcard') == len(papers) > 1
    for paper in papers:
        assert f'href="/papers/{paper.arxiv_id}"' in html
    assert "Get these in your inbox, matched to you" in html
    assert 'name="topics" value="efficient-inference"' in html
    assert 'name="email"' in html and 'name="keywords"' in html and 'name="send_hour"' in html
    assert '<option selected>UTC</option>' in html
    assert csrf_token(html, "/")
    assert client.get("/").text.count('<article class="pcard') == len(papers)  # the cached page, again


def test_feed_data_is_escaped_and_unsafe_links_dropped(site: Settings) -> None:
    with session_scope(site) as session:
        session.add(Paper(uid="feed:evil", title='<script>alert("x")</script> & Co', authors=["<b>Mallory</b>"],
                          hf_url="javascript:alert(1)", upvotes=10_000, first_seen_at=datetime.now(UTC),
                          abstract="<img src=x onerror=alert(2)>", ai_summary="<iframe src=//evil>",
                          ai_keywords=["<svg onload=alert(3)>"], organization="<i>Org</i>",
                          thumbnail="javascript:alert(4)", source_names=["<u>src</u>"]))
    client = TestClient(create_app(site), base_url=BASE)
    for path in ("/", "/?q=alert", "/papers/p-" + str(evil_id(site))):
        html = client.get(path).text
        assert "<script>alert" not in html and "<b>Mallory" not in html and "<img src=x" not in html, path
        assert "<iframe" not in html and "<svg" not in html and "<i>Org" not in html and "<u>src" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
        assert "javascript:" not in html


def evil_id(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalars(select(Paper.id).where(Paper.uid == "feed:evil")).one()


def test_no_template_of_these_pages_marks_text_safe() -> None:
    for name in ("public/home.html", "public/paper.html", "public/paper_macros.html"):
        source = (WEB_TEMPLATES_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", source), name


def test_day_week_and_month_views_have_stable_urls(client: TestClient, site: Settings) -> None:
    day, papers = latest_day(site)
    html = client.get(f"/?date={day.isoformat()}").text
    assert html.count('<article class="pcard') == len(papers)
    year, week, _ = day.isocalendar()
    assert f'href="/?week={year}-W{week:02d}"' in html and f'href="/?month={day:%Y-%m}"' in html
    found = re.search(r'rel="prev" href="/\?date=(\d{4}-\d{2}-\d{2})"', html)
    assert found and date.fromisoformat(found[1]) < day
    earlier = client.get(f"/?date={found[1]}").text
    assert f'rel="next" href="/?date={day.isoformat()}"' in earlier
    weekly = client.get(f"/?week={year}-W{week:02d}")
    assert weekly.status_code == 200 and weekly.text.count('<article class="pcard') >= len(papers)
    assert "Week of" in weekly.text and 'aria-current="page">Week</a>' in weekly.text
    assert client.get(f"/?month={day:%Y-%m}&page=2").status_code == 200
    quiet = client.get("/?date=1999-01-01").text
    assert "No papers for Fri, Jan 1, 1999." in quiet and 'rel="next"' in quiet and 'rel="prev"' not in quiet


def test_views_that_name_nothing(client: TestClient) -> None:
    response = client.get("/?date=2026-02-30")
    assert response.status_code == 400 and "date must be a real YYYY-MM-DD" in response.text
    assert client.get("/?week=2026-W60").status_code == 400
    assert client.get("/?date=2026-06-01&month=2026-06").status_code == 400
    response = client.get("/?topic=astrology")
    assert response.status_code == 404 and "No such topic" in response.text


def test_search_and_topic_filter(client: TestClient, site: Settings) -> None:
    html = client.get("/?q=quantization").text
    titles = re.findall(r'class="pcard__title"><a href="[^"]+">([^<]+)</a>', html)
    assert titles and 'value="quantization"' in html and "Clear search" in html
    with session_scope(site) as session:
        expected = [t for t in session.scalars(select(Paper.title)) if "quantiz" in t.lower()]
    assert set(expected) <= {t.replace("&#39;", "'") for t in titles}
    nothing = client.get("/?q=%22zzz+qqq%22+NEAR(").text
    assert "No paper matches every word" in nothing and "&#34;zzz qqq&#34; NEAR(" in nothing
    llm = client.get("/?topic=llm").text
    cards = llm.count('<article class="pcard')
    assert cards > 0 and llm.count('class="chip chip--topic" href="/?topic=llm"') == cards
    assert 'href="/?topic=llm" aria-current="true"' in llm


def test_security_headers_on_pages(client: TestClient) -> None:
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "img-src 'self' data: https://cdn-thumbnails.huggingface.co;" in csp  # the thumbnails, nothing more
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=lax" in headers["set-cookie"]


def test_static_files_ship_with_the_package(client: TestClient) -> None:
    html = client.get("/").text
    for name in ("papermail.css", "papermail.js", "favicon.svg"):
        assert f"/static/{name}?v=" in html
        assert client.get(f"/static/{name}").status_code == 200


def test_subscribe_creates_a_pending_subscriber_and_mails_a_confirmation(client: TestClient, site: Settings) -> None:
    response = subscribe(client, "Bob@Example.org", topics=["llm", "agents"], keywords="quantization, \"KV cache\"",
                         send_hour="7", timezone="Europe/Paris")
    assert response.status_code == 303
    assert response.headers["location"] == "/check-inbox"
    with session_scope(site) as session:
        bob = session.scalars(select(Subscriber)).one()
        assert (bob.email, bob.status, bob.send_hour, bob.timezone) == ("bob@example.org", "pending", 7, "Europe/Paris")
        assert bob.preferences["topics"] == ["llm", "agents"]
        assert bob.preferences["keywords"] == ["quantization", "KV cache"]
    [mail] = mails_to("bob@example.org")
    assert mail["Subject"] == "Confirm your subscription to papermail"
    assert f"{BASE}/confirm/" in mail.get_body(("plain",)).get_content()
    assert "48 hours" in client.get("/check-inbox").text


def _answer(client: TestClient, email: str) -> tuple[int, str, str]:
    response = subscribe(client, email)
    return response.status_code, response.headers.get("location", ""), response.text


def test_same_answer_for_new_pending_active_unsubscribed_and_suppressed(client: TestClient, site: Settings) -> None:
    subscribe(client, "pending@example.org")
    for email, status in [("active@example.org", "active"), ("gone@example.org", "unsubscribed"),
                          ("bounced@example.org", "suppressed")]:
        subscribe(client, email)
        with session_scope(site) as session:
            session.scalars(select(Subscriber).where(Subscriber.email == email)).one().status = status
    answers = {email: _answer(client, email) for email in
               ["new@example.org", "pending@example.org", "active@example.org", "gone@example.org", "bounced@example.org"]}
    assert len(set(answers.values())) == 1, answers
    assert answers["new@example.org"] == (303, "/check-inbox", "")


def test_pending_gets_a_fresh_confirmation_at_most_every_ten_minutes(client: TestClient) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        subscribe(client, "bob@example.org")
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        subscribe(client, "bob@example.org")
    assert len(mails_to("bob@example.org")) == 1
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        subscribe(client, "bob@example.org")
    assert len(mails_to("bob@example.org")) == 2


def test_active_gets_one_already_subscribed_mail_a_day_and_keeps_its_preferences(
    client: TestClient, site: Settings
) -> None:
    from tests.service.web.public.conftest import confirmed

    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        confirmed(client, "alice@example.org", topics=["llm"])
    for hours in (1, 5, 23):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            subscribe(client, "alice@example.org", topics=["robotics"])
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        subscribe(client, "alice@example.org")
    subjects = [m["Subject"] for m in mails_to("alice@example.org")]
    assert subjects.count("You're already subscribed to papermail") == 2
    with session_scope(site) as session:
        assert session.scalars(select(Subscriber)).one().preferences["topics"] == ["llm"]


def test_malformed_address_is_422_with_a_message_and_nothing_stored(client: TestClient, site: Settings) -> None:
    response = subscribe(client, "not-an-address")
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and "aria-invalid" in response.text
    assert 'value="not-an-address"' in response.text  # the form keeps what was typed
    assert count_subscribers(site) == 0 and mails_to("not-an-address") == []


def test_unknown_topic_is_422(client: TestClient, site: Settings) -> None:
    response = subscribe(client, "bob@example.org", topics=["llm", "astrology"])
    assert response.status_code == 422
    assert "unknown topic &#39;astrology&#39;" in response.text
    assert count_subscribers(site) == 0


def test_ten_thousand_character_keyword_is_422(client: TestClient, site: Settings) -> None:
    response = subscribe(client, "bob@example.org", keywords="x" * 10_000)
    assert response.status_code == 422
    assert "keep it under" in response.text
    assert count_subscribers(site) == 0
    response = subscribe(client, "bob@example.org", keywords="y" * 101)
    assert response.status_code == 422 and "longer than 100 characters" in response.text
    assert count_subscribers(site) == 0


def test_bad_schedule_values_are_422(client: TestClient, site: Settings) -> None:
    assert subscribe(client, "bob@example.org", send_hour="25").status_code == 422
    assert subscribe(client, "bob@example.org", send_hour="eight").status_code == 422
    assert subscribe(client, "bob@example.org", timezone="Mars/Olympus").status_code == 422
    assert subscribe(client, "bob@example.org", frequency="hourly").status_code == 422
    assert count_subscribers(site) == 0


def test_missing_or_foreign_csrf_token_is_403_and_nothing_stored(client: TestClient, site: Settings) -> None:
    client.get("/")  # the browser has its cookie
    response = client.post("/", data={"email": "bob@example.org"})
    assert response.status_code == 403
    assert "security token is missing" in response.text
    links_token = csrf_token(client.get("/links").text, "/links")
    response = client.post("/", data={"email": "bob@example.org", "csrf_token": links_token})
    assert response.status_code == 403 and "another form" in response.text
    response = client.post("/", data={"email": "bob@example.org", "csrf_token": links_token[:-2] + "xx"})
    assert response.status_code == 403
    assert count_subscribers(site) == 0


def test_csrf_token_without_its_cookie_is_403(client: TestClient, site: Settings) -> None:
    token = csrf_token(client.get("/").text, "/")
    stranger = TestClient(client.app, base_url=BASE)
    response = stranger.post("/", data={"email": "bob@example.org", "csrf_token": token})
    assert response.status_code == 403
    stranger.get("/")  # its own cookie, but the token was minted for another browser
    response = stranger.post("/", data={"email": "bob@example.org", "csrf_token": token})
    assert response.status_code == 403 and "does not match your browser" in response.text
    assert count_subscribers(site) == 0


def test_subscribe_is_rate_limited_per_address(client: TestClient) -> None:
    statuses = [subscribe(client, "bob@example.org").status_code for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert subscribe(client, "carol@example.org").status_code == 303  # other addresses go on


def test_subscribe_is_rate_limited_per_ip(client: TestClient) -> None:
    statuses = [subscribe(client, f"reader{i}@example.org").status_code for i in range(21)]
    assert statuses == [303] * 20 + [429]
    response = subscribe(client, "late@example.org")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many requests" in response.text
    assert mails_to("late@example.org") == []


def test_oversized_and_non_form_bodies_are_refused(client: TestClient) -> None:
    client.get("/")
    assert client.post("/", content=b"email=" + b"a" * 70_000,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.post("/", json={"email": "bob@example.org"}).status_code == 415


def test_a_fresh_install_says_papers_are_on_their_way(settings: Settings) -> None:
    from service.storage import migrate

    migrate.upgrade(settings)
    client = TestClient(create_app(settings), base_url=BASE)
    for path in ("/", "/?topic=llm", "/?q=agents", "/?week=2026-W24"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<article class="pcard' not in response.text and 'class="empty"' in response.text
    assert "No papers yet" in client.get("/").text


def test_a_day_whose_source_was_down_says_so_under_its_heading(client: TestClient, site: Settings) -> None:
    day, _papers = latest_day(site)
    plain = client.get(f"/?date={day.isoformat()}").text
    assert 'class="papers__status"' not in plain
    now = datetime.now(UTC)
    with session_scope(site) as session:
        session.add(Source(name="arxiv-down", kind="arxiv_rss", url="http://127.0.0.1:9/rss", enabled=True,
                           consecutive_failures=4, last_error_at=now, last_attempt_at=now,
                           last_success_at=datetime.combine(day - timedelta(days=3), datetime.min.time(), UTC)))
    html = client.get(f"/?date={day.isoformat()}").text
    status = re.search(r'<p class="papers__status" role="status">([^<]+)</p>', html)
    assert status is not None and status.group(1).startswith("arXiv could not be reached since ")
