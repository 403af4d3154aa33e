"""The dashboard's numbers (series from row dates) and its SVG charts (pure, escaped)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from config.settings import Settings
from service.storage import migrate
from service.admin.dashboard import (
    axis_top,
    bar_list,
    cumulative,
    dashboard_numbers,
    failure_class,
    line_chart,
    nice_max,
    stacked_bars,
    status_series,
)
from service.storage.db import session_scope
from service.storage.models import Delivery, Subscriber

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(3)]


def test_cumulative_counts_include_everything_before_the_window() -> None:
    per_day = {date(2026, 2, 1): 5, date(2026, 3, 2): 2, date(2026, 3, 9): 100}
    assert cumulative(per_day, DAYS) == [5, 7, 7]


def test_status_series_from_signup_confirm_and_leave_dates() -> None:
    series = status_series(created={DAYS[0]: 3, DAYS[1]: 1}, confirmed={DAYS[1]: 2}, left_confirmed={DAYS[2]: 1},
                           left_pending={DAYS[2]: 1}, days=DAYS)
    assert series == {"confirmed": [0, 2, 1], "pending": [3, 2, 1], "unsubscribed": [0, 0, 2]}


def test_nice_axis_tops() -> None:
    assert [nice_max(v) for v in (0, 1, 3, 7, 10, 11, 480, 5001)] == [1, 1, 5, 10, 10, 20, 500, 10000]


def test_axis_tops_have_four_whole_steps() -> None:
    assert [axis_top(v) for v in (0, 1, 3, 4, 5, 7, 10, 130)] == [4, 4, 4, 4, 8, 8, 20, 200]
    # An empty chart reads 0, 1, 2, 3, 4 and says it is empty (it read 1, 0, 0, 0, 0).
    svg = stacked_bars("Digests", DAYS, {"sent": [0, 0, 0], "failed": [0, 0, 0]})
    labels = [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text")]
    assert labels[2:7] == ["0", "1", "2", "3", "4"] and "Nothing in these days" in labels


def test_failures_are_grouped_by_cause_never_by_address() -> None:
    a = "DeliveryError: SMTP server refused RCPT TO for ann@example.org: 550 5.1.1 <ann@example.org>: unknown"
    b = "DeliveryError: SMTP server refused RCPT TO for bob@lab.example: 550 5.1.1 <bob@lab.example>: no mailbox"
    assert failure_class(a) == failure_class(b) == "SMTP 550 5.1.1 at RCPT TO (permanent)"
    assert failure_class("SMTP server refused DATA for x@y.org: 451 4.7.1 later") == "SMTP 451 4.7.1 at DATA (temporary)"
    assert failure_class("ConnectionRefusedError: [Errno 111] Connection refused").startswith("the mail relay")
    assert failure_class("MessageError: bad header for eve@example.org") == "MessageError: bad header for <address>"
    assert failure_class(None) == "no reason recorded"


def test_charts_are_well_formed_svg_with_escaped_labels() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    charts = [line_chart("Subscribers", DAYS, {"confirmed": [1, 2, 3], hostile: [0, 1, 0]}),
              stacked_bars("Digests", DAYS, {"sent": [4, 0, 2], "failed": [1, 0, 0]}),
              bar_list(hostile, [(hostile, 3), ("llm", 1)]), bar_list("Empty", [])]
    for svg in charts:
        root = ET.fromstring(svg)  # parses: nothing broke out of an attribute or element
        assert root.tag.endswith("svg") and root.get("role") == "img"
        assert "<script" not in svg
    assert "&lt;script&gt;" in charts[2] and ET.fromstring(charts[2]).get("aria-label") == hostile
    assert charts[1].count("<rect") == 2 + 3  # two legend keys, three non-empty bar segments


def test_numbers_from_the_database(settings: Settings) -> None:
    migrate.upgrade(settings)
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        a = Subscriber(email="a@example.org", status="active", created_at=now - timedelta(days=40),
                       confirmed_at=now - timedelta(days=40), preferences={"topics": ["llm"], "keywords": ["RLHF"]})
        b = Subscriber(email="b@example.org", status="pending", created_at=now, preferences={"topics": ["llm"]})
        c = Subscriber(email="c@example.org", status="active", created_at=now, confirmed_at=now,
                       preferences={"topics": ["agents", "llm"], "keywords": ["rlhf"]})
        session.add_all([a, b, c])
        session.flush()
        session.add_all([Delivery(subscriber_id=a.id, period="p1", status="sent", sent_at=now),
                         Delivery(subscriber_id=c.id, period="p1", status="failed", claimed_at=now, error="550 gone")])
    with session_scope(settings) as session:
        numbers = dashboard_numbers(session, now.date())
    assert numbers.status_series["confirmed"][0] == 1 and numbers.status_series["confirmed"][-1] == 2
    assert numbers.status_series["pending"][-1] == 1
    assert (numbers.sent_per_day[-1], numbers.failed_per_day[-1]) == (1, 1)
    assert numbers.failure_reasons == [("550 gone", 1)]
    assert numbers.topics == [("llm", 2), ("agents", 1)] and numbers.keywords == [("rlhf", 2)]
    assert numbers.by_status == {"active": 2, "pending": 1}
