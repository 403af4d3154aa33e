"""When digests are due: local send hours across timezones and DST, periods, late planners."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.digests.schedule import Due, due_period


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# The cast: alice reads in Paris every morning at 8, bob in New York on Mondays at 9,
# carol in Tokyo on weekdays at 7.
ALICE = {"timezone": "Europe/Paris", "frequency": "daily", "send_hour": 8}
BOB = {"timezone": "America/New_York", "frequency": "weekly", "send_hour": 9, "weekly_day": 0}
CAROL = {"timezone": "Asia/Tokyo", "frequency": "weekdays", "send_hour": 7}


def test_daily_is_due_from_the_local_send_hour_on() -> None:
    # Friday 2026-11-27: Paris is UTC+1, so 08:00 local is 07:00 UTC.
    assert due_period(at("2026-11-27T06:59"), **ALICE) is None
    assert due_period(at("2026-11-27T07:00"), **ALICE) == Due("2026-11-27", at("2026-11-27T07:00"))
    assert due_period(at("2026-11-27T22:59"), **ALICE) == Due("2026-11-27", at("2026-11-27T07:00"))
    # 23:00 UTC is already Saturday in Paris, before its send hour.
    assert due_period(at("2026-11-27T23:30"), **ALICE) is None


def test_dst_moves_the_utc_send_time_not_the_local_one() -> None:
    # Paris springs forward on 2026-03-29: 08:00 local is 07:00 UTC before, 06:00 UTC after.
    assert due_period(at("2026-03-28T07:00"), **ALICE).send_at == at("2026-03-28T07:00")  # type: ignore[union-attr]
    assert due_period(at("2026-03-30T06:00"), **ALICE).send_at == at("2026-03-30T06:00")  # type: ignore[union-attr]
    assert due_period(at("2026-03-30T05:59"), **ALICE) is None


def test_a_send_hour_inside_the_spring_forward_gap_still_happens_once() -> None:
    night_owl = ALICE | {"send_hour": 2}  # 02:00-03:00 does not exist in Paris on 2026-03-29
    due = due_period(at("2026-03-29T12:00"), **night_owl)
    assert due is not None and due.period == "2026-03-29"
    assert due.send_at == at("2026-03-29T01:00")  # 02:00 at the old offset, i.e. 03:00 CEST


def test_weekly_uses_the_iso_week_and_catches_up_later_in_the_week() -> None:
    # Monday 2026-11-23, 09:00 in New York (UTC-5) is 14:00 UTC.
    assert due_period(at("2026-11-23T13:59"), **BOB) is None
    monday = due_period(at("2026-11-23T14:00"), **BOB)
    assert monday == Due("2026-W48", at("2026-11-23T14:00"))
    assert due_period(at("2026-11-27T12:00"), **BOB) == monday  # a planner down on Monday
    assert due_period(at("2026-11-30T14:00"), **BOB).period == "2026-W49"  # type: ignore[union-attr]


def test_weekdays_skip_the_local_weekend() -> None:
    # Friday 23:00 UTC is Saturday 08:00 in Tokyo.
    assert due_period(at("2026-11-27T23:00"), **CAROL) is None
    assert due_period(at("2026-11-29T22:00"), **CAROL) == Due("2026-11-30", at("2026-11-29T22:00"))


def test_subscribed_after_todays_send_moment_waits_for_tomorrow() -> None:
    late = at("2026-11-27T15:00")
    assert due_period(at("2026-11-27T15:05"), **ALICE, confirmed_at=late) is None
    assert due_period(at("2026-11-28T07:00"), **ALICE, confirmed_at=late) == Due("2026-11-28", at("2026-11-28T07:00"))


@pytest.mark.parametrize("hour", range(24))
def test_every_hour_of_the_day_is_due_exactly_from_its_moment(hour: int) -> None:
    utc_reader = {"timezone": "UTC", "frequency": "daily", "send_hour": hour}
    moment = at(f"2026-11-27T{hour:02d}:00")
    assert due_period(moment, **utc_reader) == Due("2026-11-27", moment)
    if hour:
        assert due_period(at(f"2026-11-27T{hour - 1:02d}:59"), **utc_reader) is None
