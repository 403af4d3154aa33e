"""When a subscriber's digest is due, and which period it belongs to (pure).

Time is UTC inside; the subscriber's IANA timezone only decides when their send hour comes
(zoneinfo, so DST shifts move the UTC send time and never skip or double a day).

A period is the unit of "at most one digest": the local date for ``daily`` and ``weekdays``
("2026-11-27"), the ISO week for ``weekly`` ("2026-W48"). A subscriber is due for the current
period once its send moment has passed: the local ``send_hour`` of the day (for weekly, of the
chosen weekday of that week). Being due lasts until the period ends, so a planner that was
down at 08:00 still sends at 09:30 — late rather than never. Someone who subscribed after
today's send moment waits for the next period instead of getting a digest mid-afternoon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

Frequency = Literal["daily", "weekdays", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekdays", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Due:
    period: str
    send_at: datetime  # the UTC moment the period's digest became due


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_send_moment(day: date, send_hour: int, tz: ZoneInfo) -> datetime:
    """SEND_HOUR on DAY in TZ, as UTC. A wall time that does not exist (the spring-forward gap)
    resolves forward, one that exists twice (fall-back) to its first occurrence (fold=0)."""
    local = datetime.combine(day, time(send_hour), tzinfo=tz)
    # Round-tripping through UTC normalises a non-existent wall time to a real instant.
    return local.astimezone(UTC)


def due_period(
    now: datetime,
    *,
    timezone: str,
    frequency: Frequency,
    send_hour: int,
    weekly_day: int = 0,
    confirmed_at: datetime | None = None,
) -> Due | None:
    """The period due at NOW (aware), or None when nothing is due yet for this period."""
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    if frequency == "weekly":
        year, week, weekday = today.isocalendar()
        day = today - timedelta(days=weekday - 1 - weekly_day)
        period = f"{year}-W{week:02d}"
    else:
        if frequency == "weekdays" and today.weekday() >= 5:
            return None
        day, period = today, today.isoformat()
    send_at = local_send_moment(day, send_hour, tz)
    if now < send_at:
        return None
    if confirmed_at is not None and confirmed_at > send_at:
        return None
    return Due(period, send_at)


def first_window_start(now: datetime, frequency: Frequency) -> datetime:
    """How far back a subscriber's first digest reaches: a day, or a week for weekly."""
    return now - (timedelta(days=7) if frequency == "weekly" else timedelta(days=1))
