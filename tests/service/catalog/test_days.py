"""Spans of days (?date=, ?week=, ?month=) and pages: pure."""

from __future__ import annotations

from datetime import date

import pytest

from service.catalog.days import Paging, SpanError, page_number, parse_span, span_of


def test_each_parameter_names_its_span_and_gives_it_back() -> None:
    day = parse_span(day="2026-06-12")
    assert day is not None and (day.start, day.end, day.param) == (date(2026, 6, 12), date(2026, 6, 13), ("date", "2026-06-12"))
    assert day.label == "Fri, Jun 12, 2026" and day.short_label == "Jun 12"
    week = parse_span(week="2026-W24")
    assert week is not None and (week.start, week.last) == (date(2026, 6, 8), date(2026, 6, 14))
    assert week.param == ("week", "2026-W24") and week.label == "Week of Jun 8 – Jun 14, 2026"
    month = parse_span(month="2026-02")
    assert month is not None and (month.start, month.last, month.param) == (date(2026, 2, 1), date(2026, 2, 28),
                                                                            ("month", "2026-02"))
    assert month.label == "February 2026" and month.short_label == "Feb 2026"
    assert parse_span() is None and parse_span(day="  ") is None


def test_weeks_across_years_and_months_step_by_their_kind() -> None:
    week = span_of("week", date(2027, 1, 1))  # a Friday in ISO week 53 of 2026
    assert week.value == "2026-W53" and week.start == date(2026, 12, 28)
    assert parse_span(week=week.value) == week
    assert week.short_label == "Dec 28 – Jan 3"
    assert week.step(1).value == "2027-W01" and week.step(-1).value == "2026-W52"
    assert span_of("month", date(2026, 12, 31)).step(1).value == "2027-01"
    assert span_of("day", date(2028, 2, 28)).step(1).value == "2028-02-29"


@pytest.mark.parametrize("given, param", [
    ({"day": "2026-02-30"}, "date"), ({"day": "12/06/2026"}, "date"), ({"day": "2026-6-1"}, "date"),
    ({"week": "2026-W54"}, "week"), ({"week": "2026-24"}, "week"), ({"month": "2026-13"}, "month"),
    ({"month": "<script>"}, "month"), ({"day": "2026-06-12", "week": "2026-W24"}, "week"),
])
def test_what_names_no_span_is_refused_with_the_parameter_at_fault(given: dict[str, str], param: str) -> None:
    with pytest.raises(SpanError) as caught:
        parse_span(**given)
    assert caught.value.param == param and str(caught.value)


def test_paging() -> None:
    page = Paging(number=2, size=60, total=130)
    assert (page.offset, page.pages, page.previous, page.next) == (60, 3, 1, 3)
    assert (page.first_shown, page.last_shown) == (61, 120)
    last = Paging(3, 60, 130)
    assert last.next is None and last.last_shown == 130
    empty = Paging(1, 60, 0)
    assert (empty.pages, empty.previous, empty.next, empty.first_shown) == (1, None, None, 0)
    assert [page_number(v) for v in (None, "", "3", "0", "-2", "x", "99999999")] == [1, 1, 3, 1, 1, 1, 10_000]
