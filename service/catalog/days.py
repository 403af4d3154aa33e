"""Which days a view of the papers covers, and pages of a long list (pure: no database).

A view is a *span* of whole UTC days: one day (``?date=2026-06-12``), an ISO week
(``?week=2026-W24``, Monday to Sunday) or a calendar month (``?month=2026-06``). Its ``param``
is the query string that names it again, so every view has a stable URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["day", "week", "month"]
KINDS: tuple[Kind, ...] = ("day", "week", "month")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class SpanError(ValueError):
    """A date, week or month parameter that names no such span (the message says why)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param  # the query parameter at fault


@dataclass(frozen=True, slots=True)
class Span:
    kind: Kind
    start: date
    end: date  # exclusive: the day after the span's last day

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def value(self) -> str:
        """``2026-06-12``, ``2026-W24`` or ``2026-06``: what the query parameter holds."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def param(self) -> tuple[str, str]:
        """(name, value) of the query parameter naming this span."""
        return ("date" if self.kind == "day" else self.kind, self.value)

    @property
    def label(self) -> str:
        if self.kind == "day":
            return long_day(self.start)
        if self.kind == "week":
            return f"Week of {short_day(self.start)} – {short_day(self.last)}, {self.last.year}"
        return f"{self.start:%B %Y}"

    @property
    def short_label(self) -> str:
        """For a previous / next link: "Jun 10", "Jun 1 – 7", "May 2026"."""
        if self.kind == "day":
            return short_day(self.start)
        if self.kind == "week":
            same_month = self.start.month == self.last.month
            return f"{short_day(self.start)} – {self.last.day if same_month else short_day(self.last)}"
        return f"{self.start:%b %Y}"

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def step(self, direction: int) -> Span:
        """The span of the same kind just before (-1) or after (+1) this one."""
        return span_of(self.kind, self.start - timedelta(days=1) if direction < 0 else self.end)


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"  # "Jun 12", whatever the locale


def long_day(day: date) -> str:
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"  # "Fri, Jun 12, 2026"


def span_of(kind: Kind, day: date) -> Span:
    """The day, ISO week or month that DAY falls in."""
    if kind == "day":
        return Span("day", day, day + timedelta(days=1))
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Span("week", monday, monday + timedelta(days=7))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Span("month", first, following)


def parse_span(day: str | None = None, week: str | None = None, month: str | None = None) -> Span | None:
    """The span the query parameters name; None when they name none (the caller's default)."""
    given = [(name, value.strip()) for name, value in (("date", day), ("week", week), ("month", month))
             if value is not None and value.strip()]
    if not given:
        return None
    if len(given) > 1:
        raise SpanError("give one of date, week or month, not several", given[1][0])
    name, value = given[0]
    try:
        if name == "date":
            if not _DAY.fullmatch(value):
                raise ValueError
            return span_of("day", date.fromisoformat(value))
        if name == "week":
            found = _WEEK.fullmatch(value)
            if not found:
                raise ValueError
            return span_of("week", date.fromisocalendar(int(found[1]), int(found[2]), 1))
        found = _MONTH.fullmatch(value)
        if not found:
            raise ValueError
        return span_of("month", date(int(found[1]), int(found[2]), 1))
    except ValueError:
        shape = {"date": "YYYY-MM-DD", "week": "YYYY-Www (an ISO week)", "month": "YYYY-MM"}[name]
        raise SpanError(f"{name} must be a real {shape}, not {value[:40]!r}", name) from None


@dataclass(frozen=True, slots=True)
class Paging:
    """Page NUMBER (from 1) of SIZE items out of TOTAL."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None

    @property
    def first_shown(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.size)


MAX_PAGE = 10_000


def page_number(raw: str | None) -> int:
    """``?page=`` as a page number; anything that is not one is page 1 (a stale link still works)."""
    if raw is None or not raw.strip().isdigit():
        return 1
    return min(MAX_PAGE, max(1, int(raw)))
