"""A source's health and backoff, from its poll state (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.ingest.health import backoff_delay, source_health

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
STALE = timedelta(hours=48)


@dataclass
class State:
    last_attempt_at: datetime | None = NOW
    last_success_at: datetime | None = NOW
    consecutive_failures: int = 0
    items_last_poll: int | None = 30
    content_changed_at: datetime | None = NOW


def test_never_polled() -> None:
    assert source_health(State(last_attempt_at=None, last_success_at=None), NOW, STALE) == "never"


def test_fresh_content_is_ok() -> None:
    assert source_health(State(), NOW, STALE) == "ok"


def test_valid_feed_without_items_is_empty_not_broken() -> None:
    assert source_health(State(items_last_poll=0), NOW, STALE) == "empty"


def test_same_content_for_too_long_is_stale() -> None:
    assert source_health(State(content_changed_at=NOW - timedelta(hours=49)), NOW, STALE) == "stale"
    assert source_health(State(content_changed_at=NOW - timedelta(hours=47)), NOW, STALE) == "ok"


def test_failing_is_broken_whatever_came_before() -> None:
    assert source_health(State(consecutive_failures=1), NOW, STALE) == "broken"


def test_backoff_doubles_and_caps_at_a_day() -> None:
    hour = timedelta(hours=1)
    assert backoff_delay(hour, 0) == hour
    assert backoff_delay(hour, 1) == 2 * hour
    assert backoff_delay(hour, 3) == 8 * hour
    assert backoff_delay(hour, 10) == timedelta(hours=24)
    assert backoff_delay(timedelta(hours=48), 2) == timedelta(hours=48)  # never below the interval
