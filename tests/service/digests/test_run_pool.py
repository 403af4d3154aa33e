"""`digest run` over a process pool (the embedded default on every core): each due subscriber
gets exactly one digest, the send rate is shared out, and a second run sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes

import pytest
from sqlalchemy import func, select

from config.settings import Settings
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

    monkeypatch.setattr("service.digests.run.ProcessPoolExecutor", no_pool)
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

    monkeypatch.setattr("service.digests.run.ProcessPoolExecutor", Recording)
    with pytest.raises(RuntimeError, match="stop here"):
        run_foreground(outbox_world, FRIDAY_0800, DeliveryTools.from_settings(outbox_world), sleep=lambda s: None,
                       processes=2)
    assert seen == [500.0]
