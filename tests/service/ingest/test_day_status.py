"""The day's status line (pure): a source down, arXiv's weekends and holidays, a late list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.ingest.day_status import SourceDay, day_status

TUESDAY = date(2026, 12, 1)
SATURDAY = date(2026, 12, 5)
AT_8 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def hf(papers: int = 12, *, failing_since: datetime | None = None, items: int = 30) -> SourceDay:
    if failing_since is not None:
        return SourceDay("hf-daily", "hf_daily", failing_since, at(7, 50), 3, items, papers)
    return SourceDay("hf-daily", "hf_daily", at(7, 30), None, 0, items, papers)


def arxiv(papers: int = 250, *, items: int = 300, polled: datetime | None = None) -> SourceDay:
    return SourceDay("arxiv-ai-lg-cl", "arxiv_rss", polled or at(7), None, 0, items, papers)


def test_a_normal_day_says_nothing() -> None:
    status = day_status(TUESDAY, [hf(), arxiv()], AT_8)
    assert status.ok and status.line(TUESDAY) is None and status.papers == 262


def test_a_source_that_is_down_is_named_with_the_time_and_what_the_digest_has_instead() -> None:
    status = day_status(TUESDAY, [hf(0, failing_since=at(6)), arxiv()], AT_8)
    assert status.line(TUESDAY) == "Hugging Face could not be reached since 06:00 UTC; these are arXiv's papers."
    assert status.line(date(2026, 12, 2)) == status.line(TUESDAY)  # no "today" in it


def test_everything_down_since_yesterday() -> None:
    down = [hf(0, failing_since=datetime(2026, 11, 30, 22, tzinfo=UTC)),
            SourceDay("arxiv-ai-lg-cl", "arxiv_rss", None, at(7, 55), 9, None, 0)]
    status = day_status(TUESDAY, down, AT_8)
    assert status.line(TUESDAY) == "Hugging Face and arXiv could not be reached; no papers came in for today."
    only_hf = day_status(TUESDAY, [down[0], arxiv(0, items=0)], AT_8)
    assert only_hf.line(TUESDAY) == (
        "Hugging Face could not be reached since Nov 30, 22:00 UTC; no papers came in for today."
    )


def test_an_outage_that_ended_before_the_day_or_began_after_it_is_not_that_days_news() -> None:
    assert day_status(date(2026, 11, 30), [hf(5, failing_since=at(6)), arxiv(200)], AT_8).line() is None
    recovered = SourceDay("hf-daily", "hf_daily", at(7, 30), at(5), 0, 30, 12)
    assert day_status(TUESDAY, [recovered, arxiv()], AT_8).ok


def test_arxiv_on_a_holiday_and_on_a_weekend() -> None:
    holiday = day_status(TUESDAY, [hf(), arxiv(0, items=0)], AT_8)
    assert holiday.line(TUESDAY) == "arXiv announced nothing today (holiday); these are Hugging Face's papers."
    assert day_status(TUESDAY, [hf(0), arxiv(0, items=0)], AT_8).line(TUESDAY) == (
        "arXiv announced nothing today (holiday)."
    )
    weekend = day_status(SATURDAY, [hf(4), arxiv(0, items=0, polled=at(7, day=5))], at(8, day=5))
    assert weekend.line(SATURDAY) == "arXiv announced nothing today (weekend); these are Hugging Face's papers."
    assert weekend.line(TUESDAY) == "arXiv announced nothing on Dec 5 (weekend); these are Hugging Face's papers."


def test_arxiv_still_listing_yesterday_is_late_not_on_holiday() -> None:
    late = day_status(TUESDAY, [hf(), arxiv(0, items=300)], AT_8)
    assert late.reason == "late"
    assert late.line(TUESDAY) == "arXiv has not announced today's papers yet; these are Hugging Face's papers."


@pytest.mark.parametrize(("hour", "line"), [
    (8, "Hugging Face has not announced today's papers yet."),
    (23, "Hugging Face has not announced today's papers yet."),
])
def test_an_empty_day_without_arxiv(hour: int, line: str) -> None:
    assert day_status(TUESDAY, [hf(0)], at(hour)).line(TUESDAY) == line
    past = day_status(date(2026, 11, 29), [hf(0)], AT_8)
    assert past.line(TUESDAY) == "Hugging Face announced nothing on Nov 29."


def test_no_sources_known_means_nothing_to_tell() -> None:
    assert day_status(TUESDAY, [], AT_8).line(TUESDAY) is None
