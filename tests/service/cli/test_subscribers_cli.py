"""`papermail subscribers add`: a subscriber from the command line, bad values refused in one line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration


def test_add_with_every_option(settings: Settings) -> None:
    result = run_cli(
        settings, "subscribers", "add", "Alice@Example.ORG",
        "--topic", "efficient-inference", "--topic", "ml-systems",
        "--keyword", 'quantization; "KV cache"', "--exclude", "survey", "--author", "Zoë Müller",
        "--min-upvotes", "5", "--max-papers", "7", "--frequency", "weekly", "--weekly-day", "fri",
        "--send-hour", "7", "--timezone", "Europe/Paris", "--confirmed",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alice@example.org: active"
    with session_scope(settings) as session:
        alice = session.scalars(select(Subscriber)).one()
        assert (alice.email, alice.status, alice.timezone, alice.send_hour, alice.frequency, alice.weekly_day) == (
            "alice@example.org", "active", "Europe/Paris", 7, "weekly", 4,
        )
        assert alice.preferences["keywords"] == ["quantization", "KV cache"]
        assert alice.preferences["topics"] == ["efficient-inference", "ml-systems"]
        assert alice.preferences["authors"] == ["Zoë Müller"]
        assert alice.confirmed_at is not None


def test_without_confirmed_the_subscriber_is_pending(settings: Settings) -> None:
    assert run_cli(settings, "subscribers", "add", "bob@example.org").stdout.strip() == "bob@example.org: pending"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["not-an-address"], "email"),
        (["carol@example.org", "--topic", "astrology"], "topics"),
        (["carol@example.org", "--keyword", "x" * 10_000], "keywords"),
        (["carol@example.org", "--send-hour", "24"], "send_hour"),
        (["carol@example.org", "--timezone", "Mars/Olympus_Mons"], "timezone"),
        (["carol@example.org", "--max-papers", "500"], "max_papers"),
        (["carol@example.org", "--frequency", "hourly"], "frequency"),
    ],
)
def test_bad_values_are_one_line_exit_2_and_store_nothing(settings: Settings, args: list[str], named: str) -> None:
    result = run_cli(settings, "subscribers", "add", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"papermail: {named}") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    with session_scope(settings) as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_duplicate_address_is_refused(settings: Settings) -> None:
    run_cli(settings, "subscribers", "add", "dave@example.org")
    again = run_cli(settings, "subscribers", "add", "DAVE@example.org")
    assert again.returncode == 2
    assert "already subscribed" in again.stderr
