"""Subscriber CSV: every broken row reported and skipped, duplicates in the file and in the
database, 10,000 rows in batches on both databases, and export → import round trips."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from service.actions.subscribers import import_subscribers
from service.storage import migrate
from service.subscribers.csv_format import (
    COLUMNS,
    CsvFormatError,
    GoodRow,
    RowIssue,
    export_lines,
    import_status,
    join_values,
    neutralised,
    parse_rows,
    unneutralised,
)
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.subscribers.preferences import split_terms
from service.subscribers.store import preferences_of

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
TOPICS = {"llm", "agents", "robotics"}
HEADER = "email,topics,keywords,exclude,authors,frequency,timezone,send_hour,status\n"

BROKEN = HEADER + "\n".join([
    "alice@example.org,llm;agents,diffusion; \"mixture of experts\",,Yann LeCun,weekly,Europe/Paris,7,",  # 2 good
    "not-an-address,llm,,,,,,,",                         # 3 invalid address
    "bob@example.org,quantum,,,,,,,",                    # 4 unknown topic
    "carol@example.org,,,,,hourly,,,",                   # 5 bad frequency
    "dave@example.org,,,,,,Mars/Base,,",                 # 6 bad timezone
    "erin@example.org,,,,,,,25,",                        # 7 bad hour
    "frank@example.org,,,,,,,eight,",                    # 8 not a number
    "ALICE@example.org,,,,,,,,",                         # 9 duplicate of line 2
    "grace@example.org,,,,,,,,deleted",                  # 10 bad status
    "heidi@example.org,,,,,,,,,,extra",                  # 11 too many cells
    '"ivan@example.org,llm,,,,,,,',                      # 12 unbalanced quote: this row only
    "",                                                  # blank: ignored
    "judy@example.org,,,,,,,,",                          # 14 good
    "karl@example.org,,a\ufffdb,,,,,,",                  # 15 not UTF-8 (replacement char)
])


def issues(text: str) -> list[tuple[int, str]]:
    return [(r.line, r.kind) for r in parse_rows(io.StringIO(text), TOPICS) if isinstance(r, RowIssue)]


def test_each_broken_row_is_named_and_the_rest_go_on() -> None:
    rows = list(parse_rows(io.StringIO(BROKEN), TOPICS))
    good = [r for r in rows if isinstance(r, GoodRow)]
    assert [r.email for r in good] == ["alice@example.org", "judy@example.org"]
    assert good[0].prefs.topics == ("llm", "agents")
    assert good[0].prefs.keywords == ("diffusion", "mixture of experts")
    assert (good[0].prefs.frequency, good[0].prefs.timezone, good[0].prefs.send_hour) == ("weekly", "Europe/Paris", 7)
    assert issues(BROKEN) == [
        (3, "invalid_address"), (4, "unknown_topic"), (5, "bad_value"), (6, "bad_value"), (7, "bad_value"),
        (8, "bad_value"), (9, "duplicate"), (10, "bad_value"), (11, "bad_value"), (12, "invalid_address"),
        (15, "bad_value"),
    ]
    messages = {r.line: r.text() for r in rows if isinstance(r, RowIssue)}
    assert "also on line 2" in messages[9] and "quantum" in messages[4] and "frequency" in messages[5]


def test_only_email_is_required_and_columns_may_come_in_any_order() -> None:
    rows = list(parse_rows(io.StringIO("Status,EMAIL\nactive,a@example.org\n"), TOPICS, "Europe/Berlin"))
    assert rows == [GoodRow(2, "a@example.org", rows[0].prefs, "active")]  # type: ignore[union-attr]
    assert rows[0].prefs.timezone == "Europe/Berlin"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("\n\n", "empty"), ("topics,keywords\n", "no 'email'"), ("email,colour\n", "unknown column"),
    ("email,email\n", "twice"),
])
def test_unusable_headers(text: str, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        list(parse_rows(io.StringIO(text), TOPICS))


def test_statuses_need_consent() -> None:
    assert [import_status(s, confirmed=False) for s in ("", "active", "paused", "pending")] == ["pending"] * 4
    assert [import_status(s, confirmed=True) for s in ("", "active", "paused", "pending")] == [
        "active", "active", "paused", "pending"]
    assert import_status("unsubscribed", False) == "unsubscribed" and import_status("suppressed", True) == "suppressed"


def test_values_holding_the_separator_survive() -> None:
    # Stored terms never start or end with '"' (Preferences strips them), but may hold one inside.
    terms = ["a;b", "plain", 'say "hi there', 'x;"y']
    assert split_terms([join_values(terms)]) == terms


def run_import(settings: Settings, text: str, **kwargs: object) -> object:
    options = {"confirmed": False, "dry_run": False, "now": NOW, "actor": "tests", **kwargs}
    return import_subscribers(settings, parse_rows(io.StringIO(text), TOPICS), **options)  # type: ignore[arg-type]


def count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count(Subscriber.id))) or 0


@pytest.mark.integration
def test_dry_run_reports_database_duplicates_and_writes_nothing(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        session.add(Subscriber(email="judy@example.org", status="active"))
    report = run_import(db_settings, BROKEN, dry_run=True)
    assert report.total == 1 and report.imported == {"pending": 1}  # type: ignore[attr-defined]
    assert (14, "duplicate") in [(i.line, i.kind) for i in report.issues]  # type: ignore[attr-defined]
    assert report.summary().startswith("dry run: would import 1 (1 pending); skipped 12")  # type: ignore[attr-defined]
    assert count(db_settings) == 1


@pytest.mark.integration
def test_import_pending_with_confirmation_hook(db_settings: Settings) -> None:
    queued: list[int] = []
    report = run_import(db_settings, BROKEN, confirm=lambda ids: queued.extend(ids) or len(ids))
    assert report.imported == {"pending": 2} and len(report.issues) == 11  # type: ignore[attr-defined]
    assert "2 confirmation mails queued" in report.summary()  # type: ignore[attr-defined]
    with session_scope(db_settings) as session:
        rows = session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
        assert [r.id for r in rows] == queued
        assert all(r.status == "pending" and r.confirmation_sent_at == NOW and r.confirmed_at is None for r in rows)
        assert rows[0].preferences["keywords"] == ["diffusion", "mixture of experts"]
        assert (rows[0].frequency, rows[0].send_hour, rows[0].timezone) == ("weekly", 7, "Europe/Paris")
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "subscribers.import")).one()
        assert entry.after["imported"] == {"pending": 2} and entry.after["skipped"]["duplicate"] == 1  # type: ignore[index]
    again = run_import(db_settings, BROKEN, confirmed=True)
    assert again.total == 0 and again.issue_counts()["duplicate"] == 3  # type: ignore[attr-defined]


@pytest.mark.integration
def test_ten_thousand_rows_in_batches(db_settings: Settings) -> None:
    lines = [f"user{i:05d}@example.org,llm;agents,kw{i},,,daily,UTC,{i % 24}," for i in range(10_000)]
    lines[500] = "broken-row"  # and one bad row in the middle of a batch
    lines[9_000] = lines[10]   # and a duplicate far from its first line
    started = time.perf_counter()
    report = run_import(db_settings, HEADER + "\n".join(lines), confirmed=True)
    elapsed = time.perf_counter() - started
    assert report.imported == {"active": 9_998}  # type: ignore[attr-defined]
    assert [(i.line, i.kind) for i in report.issues] == [(502, "invalid_address"), (9_002, "duplicate")]  # type: ignore[attr-defined]
    assert count(db_settings) == 9_998
    assert elapsed < 30, f"10,000 rows took {elapsed:.1f} s"


def test_export_round_trips_into_a_fresh_database(settings: Settings, tmp_path: object) -> None:
    from pathlib import Path

    from tests.conftest import make_settings

    migrate.upgrade(settings)
    run_import(settings, BROKEN, confirmed=True)
    with session_scope(settings) as session:
        session.add(Subscriber(email="gone@example.org", status="unsubscribed"))
        session.add(Subscriber(email="erased-9@erased.invalid", status="erased"))
    with session_scope(settings) as session:
        exported = "".join(export_lines(session, chunk=1))
    assert exported.splitlines()[0] == ",".join(COLUMNS)  # every preference column, in that order
    assert "erased.invalid" not in exported and len(exported.splitlines()) == 4

    other = make_settings(Path(str(tmp_path)) / "other")
    migrate.upgrade(other)
    report = run_import(other, exported, confirmed=True)
    assert report.total == 3 and report.issues == []  # type: ignore[attr-defined]
    with session_scope(other) as session:
        assert "".join(export_lines(session)) == exported


@pytest.mark.integration
def test_a_batch_that_collides_on_insert_loses_only_the_colliding_row(db_settings: Settings) -> None:
    """As when a signup lands between the duplicate lookup and the INSERT: the batch falls back
    to row-by-row inserts in savepoints."""
    from service.subscribers.csv_import import ImportReport, import_batch
    from service.subscribers.preferences import Preferences

    rows = [GoodRow(2, "a@example.org", Preferences(), ""), GoodRow(3, "b@example.org", Preferences(), ""),
            GoodRow(4, "a@example.org", Preferences(), "")]
    report = ImportReport(dry_run=False, confirmed=True)
    with session_scope(db_settings) as session:
        import_batch(session, rows, report, NOW, confirming=False)
    assert report.imported == {"active": 2}
    assert [(i.line, i.kind) for i in report.issues] == [(4, "duplicate")]
    assert count(db_settings) == 2


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-2+3", "\tx", "\rx"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_is_neutralised(value: str) -> None:
    assert neutralised(value) == "'" + value
    assert unneutralised(neutralised(value)) == value


@pytest.mark.parametrize("value", ["plain", "'quoted by the reader", "''two", "'=already", "", "a=b", "x@y"])
def test_import_undoes_only_what_export_added(value: str) -> None:
    assert unneutralised(neutralised(value)) == value
    added = neutralised(value) != value
    assert added == (value == "'=already")  # only a ' before a formula character needs one more


def test_reader_typed_formulas_round_trip_through_export_and_import(settings: Settings, tmp_path: object) -> None:
    from pathlib import Path

    from tests.conftest import make_settings

    migrate.upgrade(settings)
    hostile = HEADER + 'alice@example.org,llm,"=1+1; @SUM(A1)",+cmd,-Eve,daily,UTC,8,\n'
    run_import(settings, hostile, confirmed=True)
    with session_scope(settings) as session:
        exported = "".join(export_lines(session))
    row = exported.splitlines()[1]
    assert "'=1+1; @SUM(A1)" in row and ",'+cmd," in row and ",'-Eve," in row
    for cell in next(csv.reader([row])):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))

    other = make_settings(Path(str(tmp_path)) / "other")
    migrate.upgrade(other)
    run_import(other, exported, confirmed=True)
    with session_scope(other) as session:
        prefs = preferences_of(session.scalars(select(Subscriber)).one())
    assert prefs.keywords == ("=1+1", "@SUM(A1)") and prefs.exclude == ("+cmd",) and prefs.authors == ("-Eve",)
