"""Delivering digests end to end in one process (memory mail backend), on SQLite and PostgreSQL:
the cast gets the right papers once, failures are retried or recorded, nothing is sent twice."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from config.settings import Settings
from service.storage.db import get_engine, session_scope
from service.digests import deliver
from service.digests.deliver import deliver_batch
from service.digests.record import Ledger
from service.mail.toolkit import DeliveryTools
from service.digests.run import plan, run_foreground
from service.ingest.poll import ingest_document
from service.mail import DeliveryError, fail_recipient, memory_outbox
from service.mail.protocol import NeedsSevenBit
from service.storage.models import Delivery, Subscriber, Vote
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY_0800 = datetime(2026, 11, 27, 8, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)

PAPERS = [
    hf_item("2611.70001", "Two-bit quantization of large language models", 40),
    hf_item("2611.70002", "Humanoid robot hands that learn from video", 12, "A robot learns dexterous manipulation."),
    hf_item("2611.70003", "<script>alert(1)</script> agents <img src=x onerror=alert(1)>", 90,
            "Tool-using agents plan with a <b>planner</b> & critic."),
]



@pytest.fixture
def world(db_settings: Settings) -> Settings:
    ingest_document(db_settings, hf_json(*PAPERS), source_name="hf-daily", now=THURSDAY)
    return db_settings


def add(settings: Settings, email: str, **prefs: object) -> int:
    with session_scope(settings) as session:
        prefs.setdefault("send_hour", 8)
        subscriber = create_subscriber(session, email, Preferences(**prefs), confirmed=True, now=LONG_AGO)
        return subscriber.id


def sent_to(address: str) -> list[str]:
    return [m.message["Subject"] for m in memory_outbox() if m.to == address]


def run(settings: Settings, now: datetime = FRIDAY_0800):  # type: ignore[no-untyped-def]
    return run_foreground(settings, now, DeliveryTools.from_settings(settings), sleep=lambda s: None)


def test_each_due_subscriber_gets_one_digest_with_their_papers(world: Settings) -> None:
    add(world, "alice@example.org", topics=["efficient-inference"])
    add(world, "bob@example.org", keywords=["robot"])
    add(world, "dave@example.org")  # no filters: trending
    summary, outcome = run(world)
    assert (summary.claimed, outcome.sent, outcome.failed) == (3, 3, 0)

    alice = [m for m in memory_outbox() if m.to == "alice@example.org"]
    assert len(alice) == 1
    text = alice[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Two-bit quantization" in text and "Humanoid" not in text
    assert sent_to("bob@example.org")[0] == "1 paper for you: Humanoid robot hands that learn from video — Nov 27"
    dave = memory_outbox()[[m.to for m in memory_outbox()].index("dave@example.org")].message
    # the best paper named, with the count and the day
    assert dave["Subject"] == "agents and 2 more papers for you — Nov 27"  # the markup went at ingest
    assert dave["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_running_twice_sends_nothing_new(world: Settings) -> None:
    add(world, "alice@example.org", topics=["efficient-inference"])
    run(world)
    summary, outcome = run(world, FRIDAY_0800 + timedelta(hours=3))
    assert (summary.claimed, outcome.sent) == (0, 0)
    assert len(memory_outbox()) == 1


def test_a_paper_sent_once_is_not_sent_again(world: Settings) -> None:
    add(world, "dave@example.org")
    run(world)
    ingest_document(world, hf_json(hf_item("2611.70004", "Fresh reasoning paper", 5, day="2026-11-27")),
                    source_name="hf-daily", now=FRIDAY_0800 + timedelta(hours=2))
    run(world, FRIDAY_0800 + timedelta(days=1))
    second = memory_outbox()[1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Fresh reasoning paper" in second
    assert "Two-bit quantization" not in second
    with session_scope(world) as session:
        sent_pairs = [p for ids in session.scalars(select(Delivery.paper_ids)) for p in ids or ()]
        assert len(sent_pairs) == len(set(sent_pairs)) == 4


def test_a_vote_changes_the_next_digest(world: Settings) -> None:
    bob = add(world, "bob@example.org", keywords=["robot"])
    run(world)
    with session_scope(world) as session:  # 👍 on the paper bob got
        [robot] = session.scalars(select(Delivery.paper_ids).where(Delivery.subscriber_id == bob)).one() or []
        session.add(Vote(subscriber_id=bob, paper_id=robot, value=1))
    fresh = [hf_item(f"2611.7{n:04d}", f"Unrelated study {n}", 1, f"We survey topic number {n} in databases.",
                     day="2026-11-27") for n in range(10, 16)]
    twin = hf_item("2611.70020", "Dexterous hands from human video", 1,
                   "A humanoid learns dexterous manipulation from human video.", day="2026-11-27")
    ingest_document(world, hf_json(*fresh, twin), source_name="hf-daily", now=FRIDAY_0800 + timedelta(hours=2))
    run(world, FRIDAY_0800 + timedelta(days=1))
    second = [m for m in memory_outbox() if m.to == "bob@example.org"][1]
    text = second.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Dexterous hands from human video" in text  # no keyword: in on its likeness alone
    assert "like 'Humanoid robot hands that learn from video', which you liked" in " ".join(text.split())


def test_empty_digest_follows_the_preference(world: Settings) -> None:
    add(world, "quiet@example.org", keywords=["zebra"])
    add(world, "notify@example.org", keywords=["zebra"], empty_digest="notify")
    _, outcome = run(world)
    assert (outcome.sent, outcome.skipped) == (1, 1)
    assert sent_to("quiet@example.org") == []
    assert len(sent_to("notify@example.org")) == 1


def test_subscriber_who_left_after_the_claim_is_skipped(world: Settings) -> None:
    sid = add(world, "alice@example.org")
    queued: list[tuple[list[int], str]] = []
    plan(world, FRIDAY_0800, lambda ids, token: queued.append((ids, token)))
    with session_scope(world) as session:
        session.get(Subscriber, sid).status = "unsubscribed"  # type: ignore[union-attr]
    outcome = deliver_batch(world, *queued[0], DeliveryTools.from_settings(world), now=FRIDAY_0800)
    assert (outcome.sent, outcome.skipped) == (0, 1)
    assert memory_outbox() == []


def test_transient_failure_is_retried_then_delivered_once(world: Settings) -> None:
    add(world, "alice@example.org")
    fail_recipient("alice@example.org", DeliveryError("451 4.7.1 greylisted", permanent=False, code=451), times=2)
    _, outcome = run(world)
    assert (outcome.sent, outcome.failed) == (1, 0)
    assert len(sent_to("alice@example.org")) == 1
    with session_scope(world) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.attempts) == ("sent", 3)


def test_hard_bounce_fails_and_suppresses(world: Settings) -> None:
    sid = add(world, "gone@example.org")
    fail_recipient("gone@example.org", DeliveryError("550 5.1.1 no such user", permanent=True, code=550, hard_bounce=True))
    _, outcome = run(world)
    assert (outcome.sent, outcome.failed) == (0, 1)
    with session_scope(world) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "failed" and "5.1.1" in (delivery.error or "")
        subscriber = session.get(Subscriber, sid)
        assert subscriber is not None and subscriber.status == "suppressed"
    assert run(world, FRIDAY_0800 + timedelta(days=1))[0].claimed == 0  # never mailed again


def test_hostile_title_arrives_escaped(world: Settings) -> None:
    add(world, "dave@example.org")
    run(world)
    html = memory_outbox()[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html.lower()
    assert "onerror=" not in html.lower().replace("onerror=alert", "") or "&lt;img" in html
    assert "<b>planner</b>" not in html


def test_batch_query_count_is_constant_plus_two_per_digest(world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per batch: a fixed number of reads (the paper index is reused while the window is unchanged);
    per group of TAKE_GROUP digests: the take and the subscribers' windows; per digest: mark sent
    and its papers (one statement on PostgreSQL)."""
    monkeypatch.setattr(deliver, "TAKE_GROUP", 4)
    for n in range(13):
        add(world, f"reader{n}@example.org")
    queued: list[tuple[list[int], str]] = []
    plan(world, FRIDAY_0800, lambda ids, token: queued.append((ids, token)))
    ids, token = queued[0]
    tools = DeliveryTools.from_settings(world)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        # Session settings (the ledger connection's, once a batch) and transaction control aside
        if not statement.lstrip().upper().startswith(("PRAGMA", "SET ", "RESET ", "SAVEPOINT", "RELEASE", "BEGIN",
                                                      "COMMIT")):
            statements.append(statement)

    class CountingCursor:  # the ledger sends a send's statements to the driver itself
        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(self.cursor, name)

        def execute(self, statement: str, *args: Any, **kwargs: Any) -> Any:
            count(None, None, statement)
            return self.cursor.execute(statement, *args, **kwargs)

        def executemany(self, statement: str, *args: Any, **kwargs: Any) -> Any:
            count(None, None, statement)
            return self.cursor.executemany(statement, *args, **kwargs)

    class CountedLedger(Ledger):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._cursor = CountingCursor(self._cursor)

    monkeypatch.setattr(deliver, "Ledger", CountedLedger)
    engine = get_engine(world)
    event.listen(engine, "before_cursor_execute", count)
    try:
        deliver_batch(world, ids[:1], token, tools, now=FRIDAY_0800)
        first = len(statements)
        statements.clear()
        deliver_batch(world, ids[1:3], token, tools, now=FRIDAY_0800)
        two = len(statements)
        statements.clear()
        deliver_batch(world, ids[3:7], token, tools, now=FRIDAY_0800)
        four = len(statements)
        statements.clear()
        deliver_batch(world, ids[7:], token, tools, now=FRIDAY_0800)  # 6 digests: two groups
        six = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    per_digest = 1  # the send's UPDATE (SQLite: and its commit, not a statement)
    assert four - two == 2 * per_digest
    # deliveries with subscribers, window fingerprint, already sent, votes and seeds, topic names, the
    # day's status (its papers' sources, the sources); take, windows
    assert two - 2 * per_digest == 7 + 2
    assert six - four == 2 * per_digest + 2  # two more digests, and a second group's take and windows
    assert first - per_digest > two - 2 * per_digest  # the first batch also loaded and indexed the papers
    with session_scope(world) as session:
        assert session.scalars(select(Delivery.status)).all() == ["sent"] * 13


def test_a_delivery_is_given_up_after_max_attempts(world: Settings) -> None:
    from service.digests.deliver import MAX_ATTEMPTS

    add(world, "grey@example.org")
    fail_recipient("grey@example.org", DeliveryError("451 4.7.1 try later", permanent=False, code=451))
    tools = DeliveryTools.from_settings(world)
    queued: list[tuple[list[int], str]] = []
    plan(world, FRIDAY_0800, lambda ids, token: queued.append((ids, token)))
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcome = deliver_batch(world, *queued[0], tools, now=FRIDAY_0800)
        outcomes.append((outcome.failed, [delay for _, delay in outcome.retry]))
    base = world.delivery_retry_seconds
    # Attempts 1..5 are retried with a doubling delay; the 6th gives up.
    assert outcomes == [(0, [base * 2**n]) for n in range(MAX_ATTEMPTS - 1)] + [(1, [])]
    with session_scope(world) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)


def test_a_batch_is_sent_with_the_raised_gc_threshold_and_the_old_one_comes_back(
    world: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(world, "alice@example.org", topics=["efficient-inference"])
    seen: list[tuple[int, ...]] = []
    real_deliver_one, real_claimed_rows = deliver.deliver_one, deliver.claimed_rows

    def deliver_one(batch: Any, digest: Any) -> bool:
        seen.append(gc.get_threshold())
        return real_deliver_one(batch, digest)

    def claimed_rows(session: Any, ids: Any) -> Any:
        seen.append(gc.get_threshold())  # the loading too, not only the sending
        return real_claimed_rows(session, ids)

    monkeypatch.setattr(deliver, "deliver_one", deliver_one)
    monkeypatch.setattr(deliver, "claimed_rows", claimed_rows)
    before = gc.get_threshold()
    summary, outcome = run(world)
    assert outcome.sent == 1 and seen == [deliver.BATCH_GC_THRESHOLD] * 2
    assert gc.get_threshold() == before != deliver.BATCH_GC_THRESHOLD


class _Node:
    me: _Node


def cyclic_garbage() -> weakref.ref[_Node]:
    node = _Node()
    node.me = node  # garbage only the cyclic GC can find, once this returns
    return weakref.ref(node)


def test_frozen_between_batches_cyclic_garbage_lives_until_the_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_full_every", "_since_full", "_frozen_after_full", "_frozen_since"):
        monkeypatch.setattr(deliver, name, getattr(deliver, name))  # put back as before after the test
    deliver.freeze_between_batches(full_every=3)
    try:
        with deliver.batch_gc_threshold():
            first = cyclic_garbage()
        assert first() is None and gc.get_freeze_count() > 0  # the first batch's end collected in full
        with deliver.batch_gc_threshold():
            alive = cyclic_garbage()
        gc.collect()
        assert alive() is not None  # frozen with everything else at the batch's end
        for _ in range(2):
            with deliver.batch_gc_threshold():
                pass
        assert alive() is None  # the third batch since the full collection collected again
        assert gc.get_freeze_count() > 0  # and froze what is alive
    finally:
        gc.unfreeze()


def test_frozen_between_batches_a_heap_that_doubled_is_collected_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_full_every", "_since_full", "_frozen_after_full", "_frozen_since"):
        monkeypatch.setattr(deliver, name, getattr(deliver, name))
    deliver.freeze_between_batches(full_every=1000)
    kept: list[list[list[int]]] = []
    try:
        with deliver.batch_gc_threshold():
            pass
        frozen = gc.get_freeze_count()
        with deliver.batch_gc_threshold():
            alive = cyclic_garbage()
        step = min(frozen // 10, 50_000)  # new objects kept a batch, below the batch's GC threshold
        batches = 0
        while alive() is not None and batches < 1000:
            with deliver.batch_gc_threshold():
                kept.append([[] for _ in range(step)])
            batches += 1
        doubled = -(-frozen // step)
        assert alive() is None and doubled - 1 <= batches <= doubled + 1  # once the heap doubled, not before
    finally:
        gc.unfreeze()


def test_without_freezing_a_batch_end_leaves_the_gc_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliver, "_full_every", 0)
    gc.unfreeze()
    with deliver.batch_gc_threshold():
        pass
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError):
        deliver.freeze_between_batches(0)


def test_a_relay_that_stops_taking_8bit_gets_the_digest_composed_again_at_once(
    world: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(world, "alice@example.org", topics=["efficient-inference"])
    real_send = deliver.send_through_breaker
    sent_bytes: list[bytes] = []

    def send_through_breaker(backend: Any, limiter: Any, envelope_from: str, to: str, data: bytes, **kw: Any) -> Any:
        sent_bytes.append(data)
        if len(sent_bytes) == 1:
            raise NeedsSevenBit("SMTP relay does not announce 8BITMIME")
        return real_send(backend, limiter, envelope_from, to, data, **kw)

    monkeypatch.setattr(deliver, "send_through_breaker", send_through_breaker)
    summary, outcome = run(world)
    assert (outcome.sent, outcome.failed, outcome.retry) == (1, 0, [])
    assert len(sent_bytes) == 2 and len(sent_to("alice@example.org")) == 1
    with session_scope(world) as session:
        [row] = session.scalars(select(Delivery)).all()
        assert (row.status, row.attempts) == ("sent", 1)  # no attempt spent, no retry delay waited


def test_batches_overlapping_in_threads_put_the_gc_thresholds_back_once_the_last_ends() -> None:
    before = gc.get_threshold()
    first, second = deliver.batch_gc_threshold(), deliver.batch_gc_threshold()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold() == deliver.BATCH_GC_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
