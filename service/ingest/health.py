"""A source's health, judged from its stored poll state (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol

Health = Literal["never", "ok", "empty", "stale", "broken"]

# Backoff doubles per consecutive failure, up to this many doublings, and never past a day.
MAX_DOUBLINGS = 6
MAX_BACKOFF = timedelta(hours=24)


class PollState(Protocol):
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    items_last_poll: int | None
    content_changed_at: datetime | None


def source_health(state: PollState, now: datetime, stale_after: timedelta) -> Health:
    """broken: the last poll failed · empty: a valid feed with no items (weekends, holidays) ·
    stale: the same content for longer than STALE_AFTER · ok: fresh content · never: not polled."""
    if state.last_attempt_at is None:
        return "never"
    if state.consecutive_failures > 0:
        return "broken"
    if state.items_last_poll == 0:
        return "empty"
    if state.content_changed_at is not None and now - state.content_changed_at > stale_after:
        return "stale"
    return "ok"


def backoff_delay(interval: timedelta, consecutive_failures: int) -> timedelta:
    """When to try again: the poll interval, doubled per consecutive failure, at most a day."""
    if consecutive_failures <= 0:
        return interval
    return min(interval * 2 ** min(consecutive_failures, MAX_DOUBLINGS), max(MAX_BACKOFF, interval))
