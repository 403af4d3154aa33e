"""`digest run` over a process pool (the embedded default on every core): each due subscriber
gets exactly one digest, the send rate is shared out, a second run sends nothing, and a child
killed mid-batch loses nothing and re-sends at most what it had accepted and not recorded."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from service.digests import deliver, pool
from service.digests.record import Ledger
from service.digests.run import run_foreground
from service.ingest.poll import ingest_document
from service.mail import list_outbox
from service.mail.toolkit import DeliveryTools
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.storage.models import Delivery
from tests.service.digests.test_deliver import FRIDAY_0800, PAPERS, THURSDAY, add
from tests.service.ingest.documents import hf_json

pytestmark = pytest.mark.integration

READERS = [f"reader{i}@example.org" for i in range(7)]


@pytest.fixture
def outbox_world(settings: Settings) -> Settings:
    # The outbox is files: what every process of the pool writes, the test reads.
    site = settings.model_copy(update={"mail_backend": "outbox", "digest_batch_size": 2, "send_rate_per_second": 1000})
    upgrade(site)
    ingest_document(site, hf_json(*PAPERS), source_name="hf-daily", now=THURSDAY)
    for address in READERS:
        add(site, address)
    return site


def recipients(settings: Settings) -> list[str]:
    return sorted(str(message_from_bytes(p.read_bytes())["To"]) for p in (settings.outbox_dir).glob("**/*.eml"))


def test_a_pool_of_two_sends_each_digest_once(outbox_world: Settings) -> None:
    seen: list[int] = []
    summary, outcome = run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world),
                                      on_batch=lambda batch: seen.append(batch.sent), sleep=lambda s: None,
                                      processes=2)
    assert (summary.claimed, summary.batches, outcome.sent, outcome.failed) == (7, 4, 7, 0)
    assert sorted(seen) == [1, 2, 2, 2]  # every batch reported back to the parent
    assert len(list_outbox(outbox_world.outbox_dir)) == 7
    assert recipients(outbox_world) == sorted(READERS)
    with session_scope(outbox_world) as session:
        statuses = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    assert statuses == {"sent": 7}

    again, nothing = run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world),
                                    sleep=lambda s: None, processes=2)
    assert (again.claimed, nothing.sent) == (0, 0)
    assert len(list_outbox(outbox_world.outbox_dir)) == 7


def test_one_batch_is_sent_in_this_process(outbox_world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    site = outbox_world.model_copy(update={"digest_batch_size": 100})

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a single batch needs no pool")

    monkeypatch.setattr("service.digests.pool.ProcessPoolExecutor", no_pool)
    _, outcome = run_foreground(site, datetime(2026, 11, 27, 9, tzinfo=UTC), DeliveryTools.from_settings(site),
                                sleep=lambda s: None, processes=4)
    assert outcome.sent == 7


def test_each_child_gets_its_share_of_the_send_rate(outbox_world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    class Recording:
        def __init__(self, *, initargs: tuple[Settings], **_: object) -> None:
            seen.append(initargs[0].send_rate_per_second)

        def __enter__(self) -> Recording:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def submit(self, *_: object) -> None:
            raise RuntimeError("stop here")

    monkeypatch.setattr("service.digests.pool.ProcessPoolExecutor", Recording)
    with pytest.raises(RuntimeError, match="stop here"):
        run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world), sleep=lambda s: None,
                       processes=2)
    assert seen == [500.0]


def copies_by_reader(settings: Settings) -> dict[str, list[str]]:
    """Each recipient's Message-IDs, one per message in the outbox."""
    seen: dict[str, list[str]] = {}
    for path in settings.outbox_dir.glob("**/*.eml"):
        message = message_from_bytes(path.read_bytes())
        seen.setdefault(str(message["To"]), []).append(str(message["Message-ID"]))
    return seen


def delivery_statuses(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def die_once_in_a_child(flag: Path, parent: int) -> None:
    """SIGKILL this process the first time any child of the pool gets here (a file is the flag:
    the pool's processes share nothing else). The flag keeps the delivery id it died on."""
    if os.getpid() == parent:
        return
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_killed_between_the_relays_250_and_the_record_costs_one_copy(
        outbox_world: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The children are forked: what is patched here is patched in them too.
    flag, parent, record = tmp_path / "died", os.getpid(), Ledger.sent

    def sent_then_die(self: Ledger, *args: Any) -> None:
        die_once_in_a_child(flag, parent)  # the message is in the outbox, its record is not
        record(self, *args)

    monkeypatch.setattr(Ledger, "sent", sent_then_die)
    summary, outcome = run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world),
                                      sleep=lambda s: None, processes=2)
    assert flag.exists(), "a child died"
    assert (summary.claimed, outcome.sent, outcome.failed) == (7, 7, 0)
    assert delivery_statuses(outbox_world) == {"sent": 7}
    copies = copies_by_reader(outbox_world)
    assert sorted(copies) == sorted(READERS)  # nobody lost
    # The dead child's accepted, unrecorded digest went again, and so, at most, did one of the
    # child the broken pool stopped; every copy of a digest carries its one Message-ID.
    assert 8 <= sum(map(len, copies.values())) <= 9
    assert all(len(set(ids)) == 1 and len(ids) <= 2 for ids in copies.values())


def test_a_child_killed_before_it_sends_loses_nothing(
        outbox_world: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    flag, parent = tmp_path / "died", os.getpid()
    send = deliver.send_through_breaker

    def die_then_send(*args: Any, **kwargs: Any) -> None:
        die_once_in_a_child(flag, parent)
        send(*args, **kwargs)

    monkeypatch.setattr(deliver, "send_through_breaker", die_then_send)
    _, outcome = run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world),
                                sleep=lambda s: None, processes=2)
    assert flag.exists(), "a child died"
    assert (outcome.sent, outcome.failed) == (7, 0)
    assert delivery_statuses(outbox_world) == {"sent": 7}
    copies = copies_by_reader(outbox_world)
    assert sorted(copies) == sorted(READERS)
    assert sum(map(len, copies.values())) <= 8  # at most the stopped sibling's unrecorded one
    assert all(len(set(ids)) == 1 for ids in copies.values())


def test_spawned_children_where_fork_is_not_safe(outbox_world: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "forking", lambda: False)
    _, outcome = run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world),
                                sleep=lambda s: None, processes=2)
    assert (outcome.sent, outcome.failed) == (7, 0)
    assert recipients(outbox_world) == sorted(READERS)
