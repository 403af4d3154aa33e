"""CSV import's update mode (by email: an existing subscriber's preferences follow the file, only
the columns it has), and re-importing an export, in either mode, mails nobody already subscribed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.subscribers import add_subscriber, import_subscribers
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.subscribers.csv_format import export_lines, parse_rows
from service.subscribers.csv_import import ImportReport
from service.subscribers.preferences import Preferences
from service.subscribers.store import preferences_of

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
TOPICS = {"llm", "agents", "robotics"}


@pytest.fixture
def people(db_settings: Settings) -> Settings:
    """alice active (llm, "diffusion", 7 h), bob unsubscribed, carol pending."""
    with session_scope(db_settings) as session:
        add_subscriber(session, "alice@example.org", Preferences(topics=("llm",), keywords=("diffusion",), send_hour=7),
                       confirmed=True, actor="tests", now=NOW)
        bob = add_subscriber(session, "bob@example.org", Preferences(), confirmed=True, actor="tests", now=NOW)
        bob.status = "unsubscribed"
        add_subscriber(session, "carol@example.org", Preferences(), confirmed=False, actor="tests", now=NOW)
    return db_settings


def run(settings: Settings, text: str, *, update: bool, dry_run: bool = False,
        confirmed: bool = False) -> tuple[ImportReport, list[int]]:
    """Import TEXT with a confirmation hook that records whom it would mail."""
    mailed: list[int] = []

    def confirm(ids: list[int]) -> int:
        mailed.extend(ids)
        return len(ids)

    rows = parse_rows(text.splitlines(keepends=True), TOPICS)
    report = import_subscribers(settings, rows, confirmed=confirmed, dry_run=dry_run, now=NOW, actor="tests",
                                confirm=None if confirmed else confirm, update=update)
    return report, mailed


def export(settings: Settings) -> str:
    with session_scope(settings) as session:
        return "".join(export_lines(session))


def subscriber(settings: Settings, email: str) -> tuple[str, Preferences]:
    with session_scope(settings) as session:
        row = session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        return row.status, preferences_of(row)


@pytest.mark.parametrize("update", [False, True])
def test_reimporting_an_export_mails_nobody_and_changes_nothing(people: Settings, update: bool) -> None:
    before = export(people)
    report, mailed = run(people, before, update=update)
    assert mailed == [] and report.confirmations_queued == 0 and report.total == 0
    if update:
        assert (report.updated, report.unchanged, report.issues) == (0, 3, [])
        assert "updated 0 existing (3 unchanged)" in report.summary()
    else:
        assert [issue.kind for issue in report.issues] == ["duplicate"] * 3
    assert export(people) == before


def test_update_changes_only_the_columns_the_file_has(people: Settings) -> None:
    text = ("email,keywords,send_hour,status\n"
            "Alice@Example.org,quantization; KV cache,,pending\n"  # empty send_hour: kept; status: ignored
            "bob@example.org,robots,9,active\n"
            "dan@example.org,agents,6,\n")
    report, mailed = run(people, text, update=True)
    assert (report.updated, report.unchanged, dict(report.imported)) == (2, 0, {"pending": 1})
    status, alice = subscriber(people, "alice@example.org")
    assert status == "active" and alice.keywords == ("quantization", "KV cache")
    assert alice.topics == ("llm",) and alice.send_hour == 7  # not in the file / empty cell: as they were
    status, bob = subscriber(people, "bob@example.org")
    assert status == "unsubscribed" and bob.keywords == ("robots",) and bob.send_hour == 9  # an opt-out stands
    with session_scope(people) as session:
        dan = session.scalars(select(Subscriber).where(Subscriber.email == "dan@example.org")).one()
        assert dan.status == "pending" and mailed == [dan.id]  # only the new address is mailed
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "subscribers.import")).all()
        assert entry.after is not None and entry.after["updated"] == 2


def test_an_update_dry_run_counts_and_writes_nothing(people: Settings) -> None:
    before = export(people)
    report, mailed = run(people, "email,topics\nalice@example.org,agents\ncarol@example.org,\n", update=True,
                         dry_run=True)
    assert (report.updated, report.unchanged) == (1, 1) and mailed == []
    assert report.summary().startswith("dry run: would import 0 (none); would update 1 existing (1 unchanged)")
    assert export(people) == before


def test_without_update_existing_rows_stay_duplicates(people: Settings) -> None:
    report, mailed = run(people, "email,keywords\nalice@example.org,robots\n", update=False)
    assert [issue.kind for issue in report.issues] == ["duplicate"] and mailed == []
    assert subscriber(people, "alice@example.org")[1].keywords == ("diffusion",)
