"""What a digest calls new, end to end on SQLite and PostgreSQL (memory mail backend): papers of
the reader's days, never a backfill or an old file; later news (now trending, code released) once
and marked; the day's status line for a source that is down and for an empty day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from config.settings import Settings
from service.digests.run import run_foreground
from service.ingest.backfill import backfill_hf
from service.ingest.poll import ingest_document, sync_sources
from service.mail import memory_outbox
from service.mail.toolkit import DeliveryTools
from service.storage.db import session_scope
from service.storage.models import Delivery, Paper, Source
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.service.ingest.documents import arxiv_rss, hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY_0800 = datetime(2026, 11, 27, 8, tzinfo=UTC)
SATURDAY_0800 = FRIDAY_0800 + timedelta(days=1)
SUNDAY_0800 = FRIDAY_0800 + timedelta(days=2)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def add(settings: Settings, email: str, **prefs: object) -> None:
    with session_scope(settings) as session:
        prefs.setdefault("send_hour", 8)
        create_subscriber(session, email, Preferences(**prefs), confirmed=True, now=LONG_AGO)  # type: ignore[arg-type]


def run(settings: Settings, now: datetime) -> None:
    run_foreground(settings, now, DeliveryTools.from_settings(settings), sleep=lambda s: None)


def hf(settings: Settings, now: datetime, *items: dict) -> None:
    ingest_document(settings, hf_json(*items), source_name="hf-daily", now=now)


def mails(address: str) -> list[EmailMessage]:
    return [m.message for m in memory_outbox() if m.to == address]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return " ".join(text.split()), html


def sent_titles(settings: Settings, address: str) -> list[str]:
    from service.storage.models import Subscriber
    with session_scope(settings) as session:
        query = (select(Delivery.paper_ids).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                 .where(Subscriber.email == address, Delivery.paper_ids.is_not(None)).order_by(Delivery.id))
        ids = [i for paper_ids in session.scalars(query) for i in paper_ids or ()]
        titles = {i: t for i, t in session.execute(select(Paper.id, Paper.title).where(Paper.id.in_(ids)))}
        return [titles[i] for i in ids]


# -- papers belong to their day -------------------------------------------------------------


def daily_server(days: dict[str, list[dict]]) -> httpx.Client:
    """Hugging Face's daily API as a backfill sees it: ?date=D answers D's list, any page but the
    first is empty."""
    def answer(request: httpx.Request) -> httpx.Response:
        day, page = request.url.params.get("date", ""), request.url.params.get("p", "0")
        items = days.get(day, []) if page == "0" else []
        return httpx.Response(200, content=json.dumps(items).encode(), headers={"content-type": "application/json"})
    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_backfilled_day_never_reaches_a_digest_as_new(db_settings: Settings) -> None:
    add(db_settings, "ann@example.org", keywords=["quantization"])
    hf(db_settings, THURSDAY, hf_item("2611.70001", "Thursday's quantization paper", 40))
    run(db_settings, FRIDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == ["Thursday's quantization paper"]

    # Friday afternoon someone backfills the week: old days arrive now, and Friday's list too.
    old = hf_item("2611.60001", "Last week's quantization paper", 300, day="2026-11-20")
    today = hf_item("2611.70002", "Friday's quantization paper", 5, day="2026-11-27")
    client = daily_server({"2026-11-20": [old], "2026-11-27": [today]})
    backfill_hf(db_settings, "hf-daily", date(2026, 11, 20), until=date(2026, 11, 27), client=client)
    with session_scope(db_settings) as session:
        backfilled = session.scalars(select(Paper).where(Paper.arxiv_id == "2611.60001")).one()
        assert backfilled.announced_on == date(2026, 11, 20)  # stored, browsable on its own day

    run(db_settings, SATURDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == [
        "Thursday's quantization paper", "Friday's quantization paper",
    ]
    text, _ = parts(mails("ann@example.org")[-1])
    assert "Last week's" not in text


def test_an_old_file_never_reaches_a_reader_as_news(db_settings: Settings, shared_fixtures: Path) -> None:
    add(db_settings, "dave@example.org")  # no filters: everything trending would do
    body = (shared_fixtures / "feeds" / "hf_daily_papers_2026-06-12.json").read_bytes()
    ingest_document(db_settings, body, source_name="hf-daily", now=FRIDAY_0800 - timedelta(hours=2))
    run(db_settings, FRIDAY_0800)
    assert mails("dave@example.org") == []  # 30 papers of June 12 ingested today: none is news


# -- later news ------------------------------------------------------------------------------


def test_a_paper_that_crosses_the_threshold_later_is_sent_once_and_marked(db_settings: Settings) -> None:
    add(db_settings, "ann@example.org", keywords=["quantization"], min_upvotes=50)
    add(db_settings, "bob@example.org", keywords=["quantization"], min_upvotes=10)
    add(db_settings, "cat@example.org", keywords=["quantization"], min_upvotes=500)
    hf(db_settings, THURSDAY, hf_item("2611.70001", "Slow-burning quantization paper", 20))
    run(db_settings, FRIDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == []  # 20 < 50 on its day
    assert sent_titles(db_settings, "bob@example.org") == ["Slow-burning quantization paper"]

    # On Friday Hugging Face lists it again, with 80 upvotes: it keeps Thursday as its day.
    hf(db_settings, FRIDAY_0800 + timedelta(hours=4),
       hf_item("2611.70001", "Slow-burning quantization paper", 80, day="2026-11-27"))
    run(db_settings, SATURDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == ["Slow-burning quantization paper"]
    text, html = parts(mails("ann@example.org")[-1])
    assert "1. [now trending] Slow-burning quantization paper" in text
    assert '>now trending</span>' in html  # a badge (its style is inline, see templates/email)
    assert sent_titles(db_settings, "bob@example.org") == ["Slow-burning quantization paper"]  # not twice
    assert sent_titles(db_settings, "cat@example.org") == []  # 80 < 500: not news to cat

    hf(db_settings, SATURDAY_0800 + timedelta(hours=1),
       hf_item("2611.70001", "Slow-burning quantization paper", 200, day="2026-11-28"))
    run(db_settings, SUNDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == ["Slow-burning quantization paper"]  # never twice


def test_code_released_later_is_sent_once_and_marked(db_settings: Settings) -> None:
    add(db_settings, "ann@example.org", keywords=["robot"], max_papers=1)
    hf(db_settings, THURSDAY,
       hf_item("2611.70011", "Robot hands from video", 40, "A robot learns from video."),
       hf_item("2611.70012", "Robot arms without code", 4, "A robot arm learns.", githubRepo=None))
    run(db_settings, FRIDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == ["Robot hands from video"]  # the other cut

    released = FRIDAY_0800 + timedelta(hours=5)
    hf(db_settings, released, hf_item("2611.70012", "Robot arms without code", 4, "A robot arm learns.",
                                      githubRepo="https://github.com/example/arms"))
    with session_scope(db_settings) as session:
        assert session.scalars(select(Paper.code_added_at).where(Paper.arxiv_id == "2611.70012")).one() == released
    run(db_settings, SATURDAY_0800)
    assert sent_titles(db_settings, "ann@example.org") == ["Robot hands from video", "Robot arms without code"]
    text, html = parts(mails("ann@example.org")[-1])
    assert "1. [code released] Robot arms without code" in text and "https://github.com/example/arms" in text
    assert '>code released</span>' in html

    run(db_settings, SUNDAY_0800)
    assert len(sent_titles(db_settings, "ann@example.org")) == 2  # never twice


# -- the day's status ---------------------------------------------------------------------------


def set_sources(settings: Settings, **states: dict[str, object]) -> None:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        for source in session.scalars(select(Source)):
            for name, value in states.get(source.kind, {}).items():
                setattr(source, name, value)


def test_the_digest_says_when_a_source_was_down(db_settings: Settings) -> None:
    add(db_settings, "ann@example.org", keywords=["quantization"])
    ingest_document(db_settings, arxiv_rss(("2611.70021", "new", "Quantization on arXiv")),
                    source_name="arxiv-ai-lg-cl", now=THURSDAY)
    six = THURSDAY.replace(hour=6)
    set_sources(db_settings,
                hf_daily={"last_success_at": six, "last_attempt_at": THURSDAY, "last_error_at": THURSDAY,
                          "consecutive_failures": 4},
                arxiv_rss={"last_success_at": THURSDAY, "last_attempt_at": THURSDAY, "items_last_poll": 1})
    run(db_settings, THURSDAY + timedelta(hours=1))  # a reader of Thursday, at 13:00
    line = "Hugging Face could not be reached since 06:00 UTC; these are arXiv's papers."
    text, html = parts(mails("ann@example.org")[0])
    assert text.count(line) == 1 and html.count(line.replace("'", "&#39;")) == 1


def test_an_empty_day_is_told_to_readers_who_want_to_know_and_skipped_for_the_others(db_settings: Settings) -> None:
    add(db_settings, "quiet@example.org", keywords=["quantization"])
    add(db_settings, "notify@example.org", keywords=["quantization"], empty_digest="notify")
    monday = datetime(2026, 11, 30, 8, tzinfo=UTC)  # a weekday arXiv announced nothing on
    set_sources(db_settings,
                hf_daily={"last_success_at": monday - timedelta(hours=1), "items_last_poll": 0},
                arxiv_rss={"last_success_at": monday - timedelta(hours=2), "items_last_poll": 0})
    run(db_settings, monday)
    assert mails("quiet@example.org") == []
    [told] = mails("notify@example.org")
    text, html = parts(told)
    assert "arXiv announced nothing today (holiday)." in text and "arXiv announced nothing today (holiday)." in html
    assert "Nothing new matched your topics this time." in text
    assert told["Subject"] == "No new papers this time — Nov 30"
