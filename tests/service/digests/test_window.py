"""What matching reads from the database for a batch, on SQLite and PostgreSQL: the window's
papers (by the day their source announced them), the index reused between batches while they
stay the same, each subscriber's window and the papers they were already sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from config.settings import Settings
from service.digests import window
from service.digests.window import (
    INDEX_REUSE,
    already_sent,
    batch_index,
    indexed,
    match_requests,
    window_papers,
    window_start,
)
from service.ingest.poll import ingest_document
from service.storage.db import get_engine, session_scope
from service.storage.models import Delivery, Paper, Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import apply_preferences, create_subscriber
from tests.service.ingest.documents import hf_item, hf_json

MONDAY = datetime(2026, 11, 23, 12, tzinfo=UTC)
THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY = datetime(2026, 11, 27, 8, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.fixture(autouse=True)
def _no_cached_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window, "_indexes", {})


def ingest(settings: Settings, when: datetime, *items: dict) -> None:
    ingest_document(settings, hf_json(*items), source_name="hf-daily", now=when)


def paper_id(settings: Settings, title: str) -> int:
    with session_scope(settings) as session:
        return next(p.id for p in session.query(Paper) if p.title == title)


@pytest.fixture
def world(db_settings: Settings) -> Settings:
    ingest(db_settings, MONDAY, hf_item("2611.70001", "Monday's paper on agents", 5, day="2026-11-23"))
    ingest(db_settings, THURSDAY, hf_item("2611.70002", "Thursday's paper on quantization", 40, day="2026-11-26"),
           hf_item("2611.70003", "Thursday's paper on robots", 12, day="2026-11-26"))
    return db_settings


def test_window_papers_are_those_announced_since_the_day_in_id_order(world: Settings) -> None:
    with session_scope(world) as session:
        titles = [p.title for p in window_papers(session, date(2026, 11, 26))]
        every = [p.title for p in window_papers(session, date(2026, 11, 23))]
        later = window_papers(session, date(2026, 11, 27))
    assert titles == ["Thursday's paper on quantization", "Thursday's paper on robots"]
    assert every == ["Monday's paper on agents", *titles]
    assert later == []


def test_the_window_is_over_the_announced_day_not_the_ingestion_time(db_settings: Settings) -> None:
    # Thursday's list read on Friday afternoon (a late poll, a backfill) belongs to Thursday.
    ingest(db_settings, FRIDAY + timedelta(hours=8), hf_item("2611.70009", "Read late", 3, day="2026-11-26"))
    with session_scope(db_settings) as session:
        assert [p.title for p in window_papers(session, date(2026, 11, 26))] == ["Read late"]
        assert window_papers(session, date(2026, 11, 27)) == []
        [row] = window_papers(session, date(2026, 11, 26))
        assert row.first_seen_at == FRIDAY + timedelta(hours=8) and row.announced_on == date(2026, 11, 26)


def test_indexed_papers_carry_what_the_matcher_reads(world: Settings) -> None:
    with session_scope(world) as session:
        rows = window_papers(session, date(2026, 11, 23))
        papers = indexed(rows)
        topics = [frozenset(t.slug for t in row.topics) for row in rows]
    assert [p.id for p in papers] == [row.id for row in rows]
    first = papers[1]
    assert first.title == "Thursday's paper on quantization"
    assert first.abstract == "We quantize large language models."
    assert first.authors == ("Ada Lovelace", "Alan Turing")
    assert first.upvotes == 40
    assert first.sources == frozenset({"hf-daily"})
    assert first.first_seen_at == datetime(2026, 11, 26, tzinfo=UTC)  # the start of its day, not ingestion
    assert [p.topics for p in papers] == topics
    assert first.topics  # the classifier tagged a paper about quantizing language models


def test_the_index_is_reused_while_the_window_is_unchanged(world: Settings) -> None:
    with session_scope(world) as session:
        index, papers = batch_index(session, FRIDAY, WEEK)
        again, same_papers = batch_index(session, FRIDAY + INDEX_REUSE / 2, WEEK)
    assert again is index and same_papers is papers
    assert sorted(p.title for p in papers.values()) == [
        "Monday's paper on agents", "Thursday's paper on quantization", "Thursday's paper on robots",
    ]


def test_a_batch_that_raised_does_not_leave_its_rows_to_the_next(world: Settings) -> None:
    """The rows a failed batch loaded are expired by its rollback: the next batch rebuilds."""
    with pytest.raises(RuntimeError), session_scope(world) as session:
        index, _ = batch_index(session, FRIDAY, WEEK)
        raise RuntimeError("the batch failed")
    with session_scope(world) as session:
        again, papers = batch_index(session, FRIDAY + INDEX_REUSE / 2, WEEK)
    assert again is not index
    assert "Thursday's paper on robots" in {p.title for p in papers.values()}  # readable, not expired


def test_a_new_paper_or_an_old_index_is_rebuilt(world: Settings) -> None:
    with session_scope(world) as session:
        index, _ = batch_index(session, FRIDAY, WEEK)
        aged, _ = batch_index(session, FRIDAY + INDEX_REUSE * 2, WEEK)
        narrower, fewer = batch_index(session, FRIDAY + INDEX_REUSE * 2, timedelta(days=2))
    assert aged is not index and aged.now == FRIDAY + INDEX_REUSE * 2
    assert narrower is not aged and len(fewer) == 2

    ingest(world, FRIDAY, hf_item("2611.70004", "Friday's paper on reasoning", 3, day="2026-11-27"))
    with session_scope(world) as session:
        rebuilt, papers = batch_index(session, FRIDAY + INDEX_REUSE * 2, timedelta(days=2))
    assert rebuilt is not narrower
    assert "Friday's paper on reasoning" in {p.title for p in papers.values()}


def test_already_sent_answers_only_for_the_papers_and_subscribers_asked(world: Settings) -> None:
    agents, quant, robots = (paper_id(world, t) for t in (
        "Monday's paper on agents", "Thursday's paper on quantization", "Thursday's paper on robots"))
    with session_scope(world) as session:
        alice = create_subscriber(session, "alice@example.org", Preferences(), confirmed=True, now=MONDAY)
        bob = create_subscriber(session, "bob@example.org", Preferences(), confirmed=True, now=MONDAY)
        for who, period, sent in ((alice, "2026-11-24", [agents, quant]), (bob, "2026-11-24", [robots])):
            session.add(Delivery(subscriber_id=who.id, period=period, status="sent", paper_ids=list(sent)))
        session.commit()
        alice_id, bob_id = alice.id, bob.id

        # Ids past the query's chunk of 1000 are asked too.
        many = [*range(10_000, 11_500), alice_id, bob_id]
        assert already_sent(session, many, [quant, robots]) == {
            alice_id: frozenset({quant}), bob_id: frozenset({robots}),
        }
        assert already_sent(session, [alice_id], [robots]) == {}
        # quant lies between the two asked for (alice's delivery holding it is read): not asked, not told
        assert agents < quant < robots
        assert already_sent(session, [alice_id, bob_id], [agents, robots]) == {
            alice_id: frozenset({agents}), bob_id: frozenset({robots}),
        }
        assert already_sent(session, [alice_id, bob_id], []) == {}


def test_already_sent_reads_once_per_thousand_readers_however_scattered_the_papers(world: Settings) -> None:
    agents, robots = (paper_id(world, t) for t in ("Monday's paper on agents", "Thursday's paper on robots"))
    with session_scope(world) as session:
        alice = create_subscriber(session, "alice@example.org", Preferences(), confirmed=True, now=MONDAY)
        session.add_all([
            Delivery(subscriber_id=alice.id, period="2026-11-23", status="sent", paper_ids=[agents]),
            Delivery(subscriber_id=alice.id, period="2026-11-24", status="sent", paper_ids=[]),  # an empty digest
            Delivery(subscriber_id=alice.id, period="2026-11-25", status="sent", paper_ids=[robots], reasons=None),
        ])
        session.commit()
        statements: list[str] = []

        def listen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
            statements.append(statement)

        event.listen(get_engine(world), "before_cursor_execute", listen)
        try:
            scattered = [agents, robots, *range(robots + 5_000, robots + 500_000, 5_000)]
            assert already_sent(session, [alice.id, *range(10_000, 11_500)], scattered) == {
                alice.id: frozenset({agents, robots})}
        finally:
            event.remove(get_engine(world), "before_cursor_execute", listen)
    assert len([s for s in statements if "deliveries" in s]) == 2  # 1,501 readers: two chunks, not one per id


def reader(frequency: str = "daily", last_digest_at: datetime | None = None) -> Subscriber:
    subscriber = Subscriber(email="carol@example.org", last_digest_at=last_digest_at)
    apply_preferences(subscriber, Preferences(frequency=frequency, keywords=["agents"]))  # type: ignore[arg-type]  # a str, as parametrized
    return subscriber


@pytest.mark.parametrize(("frequency", "last", "lookback", "expected"), [
    ("daily", None, WEEK, FRIDAY - timedelta(days=1)),  # a first digest covers the last day
    ("weekdays", None, WEEK, FRIDAY - timedelta(days=1)),
    ("weekly", None, timedelta(days=10), FRIDAY - WEEK),  # ... a week for weekly readers
    ("weekly", None, timedelta(days=2), FRIDAY - timedelta(days=2)),  # never past LOOKBACK
    ("daily", THURSDAY, WEEK, THURSDAY),  # since the last digest
    ("daily", MONDAY - WEEK, WEEK, FRIDAY - WEEK),
])
def test_window_start(frequency: str, last: datetime | None, lookback: timedelta, expected: datetime) -> None:
    assert window_start(reader(frequency, last), FRIDAY, lookback) == expected


def test_match_requests_pair_preferences_windows_and_sent_papers() -> None:
    daily, weekly = reader("daily", THURSDAY), reader("weekly")
    daily.id, weekly.id = 1, 2
    requests = match_requests([daily, weekly], {1: frozenset({7, 9})}, FRIDAY, WEEK)
    # from the start of the day the window starts on: the rest of that day's papers come too
    assert [r.since for r in requests] == [datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)]
    assert [r.already_sent for r in requests] == [frozenset({7, 9}), frozenset()]
    assert [r.preferences.frequency for r in requests] == ["daily", "weekly"]
    assert list(requests[0].preferences.keywords) == ["agents"]


